"""Config parsing, message packing, ids, the function store and error transport."""

import pytest

from faabric.config import FunctionLimits, SystemConfig, parse_size
from faabric.exceptions import ConfigError, FaabricError, FunctionNotFoundError, GranuleTimeoutError
from faabric.function_store import FunctionStore
from faabric.messages import IdGenerator, Message, new_call


@pytest.mark.parametrize("text, value", [("64K", 65536), ("512M", 512 << 20), ("1G", 1 << 30), ("4096", 4096), ("2MiB", 2 << 20)])
def test_sizes_parse_with_suffixes(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "lots", "-5M", "0"])
def test_bad_sizes_raise_config_error(text):
    with pytest.raises(ConfigError):
        parse_size(text)


def test_config_reads_faabric_variables(tmp_path):
    config = SystemConfig.from_env(
        {"FAABRIC_HOME": str(tmp_path), "FAABRIC_CORES": "3", "FAABRIC_MEMORY_LIMIT": "32M",
         "FAABRIC_TIME_LIMIT": "2.5", "FAABRIC_CONF_FLAGS": "A,B"}
    )
    assert config.home == tmp_path and config.cores == 3
    assert config.limits == FunctionLimits(memory_bytes=32 << 20, time_seconds=2.5)
    assert config.conf_flags == {"A", "B"}


@pytest.mark.parametrize("env", [{"FAABRIC_CORES": "many"}, {"FAABRIC_CORES": "0"}, {"FAABRIC_TIME_LIMIT": "-1"}])
def test_bad_settings_raise_config_error(env):
    with pytest.raises(ConfigError):
        SystemConfig.from_env(env)


def test_messages_round_trip_through_msgpack():
    message = new_call(IdGenerator(), "demo", "echo", b"\x00\xff", cmdline="a b", env={"K": "V"})
    message.output, message.return_value = b"out", 3
    assert Message.unpack(message.pack()) == message


def test_ids_are_unique_positive_and_below_2_to_the_31():
    ids = IdGenerator()
    seen = {ids.next() for _ in range(10_000)}
    assert len(seen) == 10_000
    assert all(0 < i < 2**31 for i in seen)


def test_errors_travel_as_data_and_come_back_as_their_class():
    error = FaabricError.from_wire(GranuleTimeoutError("demo/loop", 1.5).to_wire())
    assert isinstance(error, GranuleTimeoutError)
    assert error.limit_seconds == 1.5 and error.function == "demo/loop"
    unknown = FaabricError.from_wire({"kind": "SomethingNew", "message": "boom", "fields": {}})
    assert "boom" in str(unknown)


def test_function_store_saves_loads_and_versions(tmp_path):
    store = FunctionStore(tmp_path)
    store.save("demo", "f", b"one", FunctionLimits(memory_bytes=1 << 20, time_seconds=1))
    first = store.version("demo", "f")
    assert store.load("demo", "f").limits == FunctionLimits(memory_bytes=1 << 20, time_seconds=1)
    store.save("demo", "f", b"two!")
    assert store.version("demo", "f") != first
    assert store.load("demo", "f").wasm == b"two!" and store.load("demo", "f").limits is None
    assert store.list() == [("demo", "f")]


@pytest.mark.parametrize("user, function", [("../etc", "f"), ("demo", "a/b"), ("demo", ".."), ("", "f")])
def test_function_store_rejects_path_like_names(tmp_path, user, function):
    with pytest.raises(ConfigError):
        FunctionStore(tmp_path).save(user, function, b"x")


def test_loading_a_missing_function_names_it(tmp_path):
    with pytest.raises(FunctionNotFoundError, match="demo/nope"):
        FunctionStore(tmp_path).load("demo", "nope")
