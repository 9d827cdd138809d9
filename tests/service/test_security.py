"""API keys: loading from a file or the environment, hashing, roles, clear errors."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from api import Settings, create_app
from api.security import KeyStore, Principal, hash_key
from linkage import LinkageError
from linkage.cli import app as cli

KEY_A = "alpha-" + "a" * 20
KEY_B = "bravo-" + "b" * 20


def test_keys_from_a_file_with_hashes_or_plain_keys(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(
        json.dumps(
            {
                "keys": [
                    {"name": "alice", "role": "investigator", "sha256": hash_key(KEY_A)},
                    {"name": "ops", "role": "admin", "key": KEY_B},
                ]
            }
        )
    )
    store = KeyStore.load(path, None)
    assert store.authenticate(KEY_A) == Principal("alice", "investigator")
    assert store.authenticate(KEY_B) == Principal("ops", "admin")
    assert store.authenticate(hash_key(KEY_A)) is None  # the hash is not a key
    assert store.authenticate(None) is None and store.authenticate("") is None
    assert len(KeyStore.load(path, f"carol:investigator:{'c' * 16}")) == 3


@pytest.mark.parametrize(
    ("entries", "says"),
    [
        ([{"name": "a", "role": "root", "key": KEY_A}], "role must be one of"),
        ([{"name": "a", "role": "admin", "key": "short"}], "at least 16 characters"),
        ([{"name": "a", "role": "admin", "sha256": "abc"}], "64 hex digits"),
        ([{"name": "a", "role": "admin"}], "needs sha256"),
        ([{"name": "", "role": "admin", "key": KEY_A}], "name must be"),
        (
            [
                {"name": "a", "role": "admin", "key": KEY_A},
                {"name": "a", "role": "admin", "key": KEY_B},
            ],
            "unique",
        ),
        ([], "no API keys configured"),
    ],
)
def test_bad_key_files_say_what_is_wrong(tmp_path, entries, says):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": entries}))
    with pytest.raises(LinkageError, match=says):
        KeyStore.load(path, None)


def test_bad_key_sources(tmp_path):
    with pytest.raises(LinkageError, match="does not exist"):
        KeyStore.load(tmp_path / "nope.json", None)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(LinkageError, match="not readable JSON"):
        KeyStore.load(tmp_path / "bad.json", None)
    with pytest.raises(LinkageError, match="expected name:role:key"):
        KeyStore.load(None, "just-a-key-without-fields")
    with pytest.raises(LinkageError, match="no API keys configured"):
        KeyStore.load(None, None)


def test_the_app_refuses_to_start_without_keys_or_result(result_dir, tmp_path):
    with pytest.raises(LinkageError, match="no API keys configured"):
        create_app(Settings(result_dir=result_dir))
    with pytest.raises(LinkageError, match="not a result directory"):
        create_app(Settings(result_dir=tmp_path, api_keys=SecretStr(f"a:admin:{KEY_A}")))


def test_settings_come_from_the_environment(monkeypatch, result_dir):
    monkeypatch.setenv("LINKAGE_RESULT_DIR", str(result_dir))
    monkeypatch.setenv("LINKAGE_API_KEYS", f"a:admin:{KEY_A}")
    monkeypatch.setenv("LINKAGE_MAX_PAGE", "20")
    s = Settings()  # type: ignore[call-arg]
    assert s.result_dir == result_dir and s.max_page == 20
    assert KEY_A not in repr(s)  # the keys are secret


def test_cli_api_key_prints_a_key_and_its_hash_entry():
    r = CliRunner().invoke(cli, ["api-key", "dana", "--role", "admin"])
    assert r.exit_code == 0, r.output
    key = r.output.split("it is not stored): ")[1].split()[0]
    entry = json.loads(r.output.split("key file entry: ")[1])
    assert entry == {"name": "dana", "role": "admin", "sha256": hash_key(key)}
    bad = CliRunner().invoke(cli, ["api-key", "dana", "--role", "root"])
    assert bad.exit_code == 2


def test_a_scorer_key_is_made_and_loaded_like_any_other():
    r = CliRunner().invoke(cli, ["api-key", "signup", "--role", "scorer"])
    assert r.exit_code == 0, r.output
    key = r.output.split("it is not stored): ")[1].split()[0]
    entry = json.loads(r.output.split("key file entry: ")[1])
    assert entry["role"] == "scorer"
    principal = KeyStore.load(None, f"signup:scorer:{key}").authenticate(key)
    assert principal == Principal("signup", "scorer")
    assert not principal.is_reader and not principal.is_admin


def test_cli_serve_fails_clearly_on_a_bad_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKAGE_API_KEYS", f"a:admin:{KEY_A}")
    r = CliRunner().invoke(cli, ["serve", str(tmp_path)])
    assert r.exit_code == 2
    assert "not a result directory" in " ".join(r.output.split())
