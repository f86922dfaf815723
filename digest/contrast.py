"""Text contrast of a theme (WCAG 2 ratio): readers must be able to read every text."""

from __future__ import annotations

from .config import Theme

MINIMUM = 4.5  # WCAG AA for body text


def _luminance(color: str) -> float:
    """Relative luminance of a ``#rrggbb`` color."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(a: str, b: str) -> float:
    """The contrast ratio of two ``#rrggbb`` colors, 1 to 21."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def low_contrast(theme: Theme) -> list[str]:
    """Every text color of ``theme`` on a background it is shown on, below 4.5:1, as
    "muted on tint (3.2:1)"; light and dark mode both."""
    light = {"surface": theme.surface, "tint": theme.tint, "background": theme.background}
    dark = {"dark_surface": theme.dark_surface, "dark_tint": theme.dark_tint,
            "dark_background": theme.dark_background}  # fmt: skip
    pairs = [("white button text", "#ffffff", "primary", theme.primary)]
    for names, backgrounds in (
        (("text", "muted", "primary"), light),
        (("dark_text", "dark_muted", "dark_primary"), dark),
    ):
        for name in names:
            pairs += [(name, getattr(theme, name), bg, color) for bg, color in backgrounds.items()]
    return [
        f"{fg_name} on {bg_name} ({ratio(fg, bg):.1f}:1)"
        for fg_name, fg, bg_name, bg in pairs
        if ratio(fg, bg) < MINIMUM
    ]
