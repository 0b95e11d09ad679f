from pos_contracts.events import EVENT_TYPES
from pos_contracts.topology import PUBLISHES, SUBSCRIPTIONS, consumers_of, topic_matches


def test_every_published_event_has_a_consumer() -> None:
    """Publishing is mandatory: an event nobody is bound to would fail the relay."""
    for producer, types in PUBLISHES.items():
        for type_ in types:
            assert consumers_of(f"{producer}.{type_}"), f"{producer}.{type_} has no consumer"


def test_every_published_type_has_a_contract_and_every_subscription_a_publisher() -> None:
    contracts = {type_ for type_, _version in EVENT_TYPES}
    published = {f"{p}.{t}" for p, types in PUBLISHES.items() for t in types}
    assert {t for types in PUBLISHES.values() for t in types} <= contracts
    for consumer, keys in SUBSCRIPTIONS.items():
        for key in keys:
            assert any(topic_matches(key, rk) for rk in published), f"{consumer} waits for {key}, which nobody publishes"


def test_topic_matching_follows_amqp_rules() -> None:
    assert topic_matches("sales.*", "sales.SaleCompleted")
    assert topic_matches("#", "sales.SaleCompleted")
    assert topic_matches("sales.#", "sales")
    assert not topic_matches("sales.*", "sales")
    assert not topic_matches("catalog.*", "sales.SaleCompleted")
    assert topic_matches("*.SaleCompleted", "sales.SaleCompleted")
