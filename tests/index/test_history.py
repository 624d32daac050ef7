from ragtune.index import IngestEvent
from ragtune.index.base import content_changes, pending_removals


def test_a_removal_undone_later_cancels_with_its_undoing():
    history = [IngestEvent(added=5), IngestEvent(removed=1, removed_hashes=["h1"]),
               IngestEvent(added=2, restored_hashes=["h1"]), IngestEvent(updated=1)]
    assert content_changes(history) == [5, 0, 1, 1]


def test_pending_removals_are_the_ones_not_restored():
    history = [IngestEvent(removed=2, removed_hashes=["a", "b"]), IngestEvent(added=1, restored_hashes=["a"])]
    assert pending_removals(history) == {"b": 1}


def test_events_without_hashes_serialise_as_before():
    # Manifests are checksummed over their JSON: events written before the hash lists must read back the same.
    assert "removed_hashes" not in IngestEvent(added=1).model_dump()
    assert IngestEvent(removed=1, removed_hashes=["a"]).model_dump()["removed_hashes"] == ["a"]
