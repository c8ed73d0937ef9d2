"""check_spark_master: a standalone master that does not answer is one line, in seconds."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from failing_endpoints import refused_port, unanswered_port

from connection.exits import ToolError
from connection.spark_master import (
    SparkMasterUnreachable,
    check_spark_master,
    standalone_masters,
)

SHORT_TIMEOUT_S = 0.5


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("master", ["local", "local[*]", "local[2,3]", "yarn", "k8s://h:6443"])
def test_masters_other_than_standalone_are_not_probed(master: str) -> None:
    assert standalone_masters(master) == []
    check_spark_master(master, SHORT_TIMEOUT_S)  # nothing to connect to: no error


def test_every_master_of_a_standalone_url_is_listed() -> None:
    assert standalone_masters("spark://a:7077,b.example:7078") == [("a", 7077), ("b.example", 7078)]


def test_a_listening_master_passes(listening_port: int) -> None:
    check_spark_master(f"spark://127.0.0.1:{listening_port}", SHORT_TIMEOUT_S)


def test_one_listening_master_of_several_is_enough(listening_port: int) -> None:
    with refused_port() as dead:
        check_spark_master(f"spark://127.0.0.1:{dead},127.0.0.1:{listening_port}", SHORT_TIMEOUT_S)


def test_a_refused_master_is_one_line_naming_the_url() -> None:
    with refused_port() as dead, pytest.raises(SparkMasterUnreachable) as refused:
        check_spark_master(f"spark://127.0.0.1:{dead}", SHORT_TIMEOUT_S)
    assert str(refused.value) == (
        f"Spark master unreachable at spark://127.0.0.1:{dead} "
        f"(127.0.0.1:{dead}: Connection refused)"
    )
    assert isinstance(refused.value, ToolError)  # run_tool makes it one line and exit 1


def test_masters_that_do_not_answer_are_each_named_with_the_timeout() -> None:
    with unanswered_port() as silent, refused_port() as dead:
        master = f"spark://127.0.0.1:{silent},127.0.0.1:{dead}"
        with pytest.raises(SparkMasterUnreachable) as refused:
            check_spark_master(master, SHORT_TIMEOUT_S)
    assert str(refused.value) == (
        f"Spark master unreachable at {master} (127.0.0.1:{silent}: no answer within 0.5 s; "
        f"127.0.0.1:{dead}: Connection refused)"
    )
