"""The embedded default's broker never hands a worker a half-written message."""

from pathlib import Path

from kombu import Connection

from config.celery_fs import PARTIAL_SUFFIX


def _connection(folder: Path) -> Connection:
    (folder / "control").mkdir(exist_ok=True)
    return Connection(
        "atomicfs://",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(folder / "done"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


def test_a_published_message_is_one_whole_file(tmp_path):
    # kombu keeps queue bindings in per-process state: each test uses its own queue name.
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("whole")
        queue.put({"task": "fold", "n": 1})

        files = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
        message = queue.get(timeout=10)

        assert message.payload == {"task": "fold", "n": 1}
        message.ack()
        queue.close()
    assert len(files) == 1
    assert files[0].endswith(".whole.msg")


def test_a_file_still_being_written_is_not_read(tmp_path):
    (tmp_path / f"1_abc.work.msg{PARTIAL_SUFFIX}").write_bytes(b"")

    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("work")
        queue.put({"n": 2})
        received = queue.get(timeout=10).payload
        leftover = [p.name for p in tmp_path.iterdir() if p.is_file()]
        queue.close()

    assert received == {"n": 2}
    assert leftover == [f"1_abc.work.msg{PARTIAL_SUFFIX}"]
