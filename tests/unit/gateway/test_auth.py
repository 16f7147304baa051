"""API keys: tokens, their hashes, scopes and programs."""

from __future__ import annotations

from gateway.auth import ApiKey, Scope, digest, new_token, split_token


def test_tokens_parse_and_hash_without_keeping_the_secret() -> None:
    key_id, token = new_token()
    split = split_token(token)
    assert split is not None and split[0] == key_id
    assert split[1] not in digest(*split)
    assert split_token(token + "x") is None and split_token("rlk_zz_" + split[1]) is None


def test_admin_has_every_scope_of_its_programs_and_keys_see_only_their_programs() -> None:
    admin = ApiKey("a" * 12, frozenset({"acme"}), frozenset({Scope.ADMIN}), "", 0)
    reader = ApiKey("b" * 12, frozenset({"acme"}), frozenset({Scope.BALANCES_READ}), "", 0)
    assert all(admin.allows(scope) for scope in Scope if scope is not Scope.PROGRAMS_ADMIN)
    # Changing programs reaches beyond the key's own: granted only by name.
    assert not admin.allows(Scope.PROGRAMS_ADMIN)
    operator = ApiKey("c" * 12, frozenset({"acme"}), frozenset({Scope.PROGRAMS_ADMIN}), "", 0)
    assert operator.allows(Scope.PROGRAMS_ADMIN) and not operator.allows(Scope.BALANCES_READ)
    assert not reader.allows(Scope.TRANSACTIONS_WRITE)
    assert reader.sees("acme") and not reader.sees("beta")
