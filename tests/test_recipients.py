"""The recipients CSV and address files: validation, duplicates, fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.errors import SendError
from digest.recipients import InvalidAddress, check_address, load_recipients, read_addresses

FIXTURE = Path(__file__).parent / "fixtures" / "send" / "recipients.csv"


def test_recipients_are_validated_deduplicated_and_keep_their_fields():
    loaded = load_recipients(FIXTURE)
    assert [r.email for r in loaded.recipients] == [
        "ana@example.com", "bob@example.org", "zoe@xn--mnchen-3ya.example",
    ]  # fmt: skip
    ana, bob, zoe = loaded.recipients
    assert ana.name == "Ana Lima" and ana.fields == {"plan": "pro"}
    assert bob.name == "Bob Smith"  # whitespace collapsed, domain lower-cased
    assert zoe.name == "Zoë"
    assert loaded.duplicates == 1  # ANA@example.com: case-insensitive, the first one wins
    assert len(loaded.invalid) == 2
    assert loaded.invalid[0].startswith(f"{FIXTURE}:4: 'not-an-address':")
    assert "üser@example.com" in loaded.invalid[1]  # needs SMTPUTF8: refused


def test_missing_email_column_and_missing_file_are_clear_errors(tmp_path):
    bad = tmp_path / "list.csv"
    bad.write_text("address,name\na@b.example,A\n")
    with pytest.raises(SendError, match="one of them 'email'"):
        load_recipients(bad)
    with pytest.raises(SendError, match="recipients file not found"):
        load_recipients(tmp_path / "nope.csv")


def test_a_first_row_without_an_email_column_is_shown(tmp_path):
    # a spreadsheet saved with semicolons: "Email;Name" is one column, not two
    semicolons = tmp_path / "list.csv"
    semicolons.write_text("Email;Name\na@b.example;A\n", encoding="utf-8")
    with pytest.raises(SendError) as caught:
        load_recipients(semicolons)
    assert str(caught.value) == (
        f"{semicolons}: the first row must name the columns, separated by commas, one of them 'email' "
        "(the first row is 'Email;Name')"
    )


def test_check_address():
    assert check_address("  Someone@Example.COM ") == "Someone@example.com"
    for bad in ("", "a@", "a b@example.com", "a@localhost"):
        with pytest.raises(InvalidAddress):
            check_address(bad)


def test_address_files_one_a_line_or_csv(tmp_path):
    plain = tmp_path / "bounces.txt"
    plain.write_text("# bounced in May\na@example.com\n\nb@example.com  # soft\nnope\n")
    good, bad = read_addresses(plain)
    assert good == ["a@example.com", "b@example.com"]
    assert len(bad) == 1 and bad[0].startswith(f"{plain}:5: 'nope'")

    table = tmp_path / "export.csv"
    table.write_text("name,email\nA,a@example.com\nB,\nC,c@example.com\n")
    assert read_addresses(table) == (["a@example.com", "c@example.com"], [])

    quoted = tmp_path / "quoted.csv"  # as spreadsheet exports write it
    quoted.write_text('"Name","Email"\n"A","a@example.com"\n"B, Jr.","nope"\n')
    good, bad = read_addresses(quoted)
    assert good == ["a@example.com"] and len(bad) == 1 and bad[0].startswith(f"{quoted}:3: 'nope'")
