"""Usernames from the naming policy."""

from app.services.naming import base_username, derive_username


def test_policies_shape_the_name_and_fold_accents():
    assert base_username("Zoë", "O'Leary-Núñez", "first.last") == "zoe.olearynunez"
    assert base_username("Pat", "O'Leary", "flast") == "poleary"
    assert base_username("Pat", "O'Leary", "firstl") == "pato"


def test_usernames_are_cut_to_20_characters_without_a_trailing_dot():
    name = base_username("Maximiliana", "Wolfeschlegelsteinhausen")
    assert len(name) <= 20 and not name.endswith(".")


def test_collisions_are_numbered_within_20_characters():
    taken = {"pat.smith", "pat.smith2"}
    assert derive_username("Pat", "Smith", is_taken=taken.__contains__) == "pat.smith3"
    long_taken = {"maximiliana.wolfesch"}
    result = derive_username("Maximiliana", "Wolfeschlegel", is_taken=long_taken.__contains__)
    assert result == "maximiliana.wolfesc2" and len(result) == 20
