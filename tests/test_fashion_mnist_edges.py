"""Edges of the Fashion-MNIST loader: header sizes, message wording, the temporary download file,
invalid minibatch arguments."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import tests.test_fashion_mnist as fm_tests
from tests.idx_files import idx_bytes, make_split, write
from training import fashion_mnist as fm

# The other module's fixtures: an isolated environment (autouse) and a local mirror.
isolated = fm_tests.isolated
mirror = fm_tests.mirror
BOTH = "train-images-idx3-ubyte and train-labels-idx1-ubyte"


def test_four_bytes_is_a_magic_number_and_a_truncated_header(tmp_path):
    path = write(tmp_path / "f", b"\x00\x00\x08\x01", gz=False)  # 1 dimension: header 4 + 4 bytes
    with pytest.raises(fm.DatasetError, match=r"truncated header, expected 8 bytes, got 4"):
        fm.read_idx(path)


def test_a_header_alone_declaring_zero_items_is_an_empty_array(tmp_path):
    path = write(tmp_path / "f", b"\x00\x00\x08\x01" + b"\x00\x00\x00\x00", gz=False)
    array = fm.read_idx(path)
    assert array.shape == (0,) and array.dtype == np.uint8


def test_padded_file_says_trailing_bytes(tmp_path):
    path = write(tmp_path / "f", idx_bytes(np.arange(3, dtype=np.uint8)) + b"\x00", gz=False)
    with pytest.raises(fm.DatasetError, match=r": trailing bytes: dimensions \(3,\) need 3 data bytes"):
        fm.read_idx(path)


def test_default_split_is_train(tmp_path):
    images, labels = make_split(tmp_path, "train", n=3)
    make_split(tmp_path, "test", n=2)
    X, y = fm.load_fashion_mnist(data_dir=tmp_path)
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, labels)


def test_explicit_dir_message_names_the_source_and_both_files(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(fm.DatasetError) as info:
        fm.load_fashion_mnist("train", data_dir=empty)
    message = str(info.value)
    assert message.startswith(f"data_dir {empty} lacks {BOTH} (raw or .gz)")
    assert "an explicit directory is used alone, without the cache, the system copy or a download" in message


def test_env_dir_message_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(fm.DatasetError) as info:
        fm.load_fashion_mnist("train")
    assert str(info.value).startswith(f"FASHION_MNIST_DIR {tmp_path} lacks {BOTH}")


def test_label_file_with_the_image_magic_is_named(tmp_path):
    make_split(tmp_path, "train", n=2, gz=False)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros((2, 28, 28), np.uint8)), gz=False)
    with pytest.raises(fm.DatasetError, match=re.escape(str(tmp_path / "train-labels-idx1-ubyte"))):
        fm.load_fashion_mnist("train", data_dir=tmp_path)


def test_nothing_found_without_download_names_both_files():
    with pytest.raises(fm.DatasetError) as info:
        fm.load_fashion_mnist("train", download=False)
    message = str(info.value)
    assert message.startswith(f"{BOTH} not found (raw or .gz) in ")
    first, remedies = message.split("\n", 1)
    assert first.endswith("and download=False.")
    assert "FASHION_MNIST_DIR" in remedies and "data_dir" in remedies


def test_download_goes_through_a_part_file_in_the_cache(mirror, isolated, monkeypatch):
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    fm.load_fashion_mnist("test", mirror=mirror.url)
    assert len(renames) == 2
    for src, dst in renames:
        name = os.path.basename(dst)
        assert os.path.dirname(src) == os.path.dirname(dst) == str(isolated.cache)
        assert os.path.basename(src).startswith(f".{name}.") and src.endswith(".part")


def test_default_seed_and_epoch_are_zero():
    # The documented permutation: stable argsort of N raw PCG64 outputs seeded by SeedSequence([0, 0]).
    images, labels = np.arange(20, dtype=np.uint8).reshape(20, 1, 1), np.arange(20)
    keys = np.random.PCG64(np.random.SeedSequence([0, 0])).random_raw(20)
    order = np.concatenate([y for _, y in fm.minibatches(images, labels, 7)])
    np.testing.assert_array_equal(order, np.argsort(keys, kind="stable"))


def test_download_url_is_the_mirror_without_its_trailing_slash_plus_the_file(monkeypatch):
    urls: list[str] = []

    class StopError(Exception):
        pass

    def record(url, dest, md5):
        urls.append(url)
        raise StopError

    monkeypatch.setattr(fm, "_download", record)
    with pytest.raises(StopError):
        fm.load_fashion_mnist("train", mirror="http://mirror.test/fashionX/")
    assert urls == ["http://mirror.test/fashionX/train-images-idx3-ubyte.gz"]


def test_download_has_a_finite_timeout(monkeypatch):
    # A stalled mirror must fail, not hang: urlopen gets a finite positive timeout.
    timeouts: list[object] = []

    def fake_urlopen(url, *args, **kwargs):
        timeouts.append(kwargs.get("timeout", args[1] if len(args) > 1 else None))
        raise OSError("no network in this test")

    monkeypatch.setattr(fm.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(fm.DatasetError, match="no network in this test"):
        fm.load_fashion_mnist("train", mirror="http://mirror.test/")
    assert len(timeouts) == 1
    assert isinstance(timeouts[0], int | float) and 0 < timeouts[0] < float("inf")


# Invalid minibatch arguments: the error type and the words its message must start with.
MINIBATCH_ERRORS: list[tuple[str, dict[str, object], type[Exception], list[str]]] = [
    ("batch-size-type", {"batch_size": 1.5}, TypeError, ["batch_size must be an integer"]),
    ("batch-size-one", {"batch_size": 0}, ValueError, ["batch_size must be >= 1", "0"]),
    ("seed-type", {"batch_size": 1, "seed": 1.5}, TypeError, ["seed must be an integer"]),
    ("epoch-type", {"batch_size": 1, "epoch": 1.5}, TypeError, ["epoch must be an integer"]),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "parts"), [c[1:] for c in MINIBATCH_ERRORS], ids=[c[0] for c in MINIBATCH_ERRORS]
)
def test_minibatch_error_names_the_argument_and_the_rule(kwargs, error, parts):
    with pytest.raises(error) as info:
        list(fm.minibatches(np.zeros((2, 1, 1), np.uint8), np.zeros(2, int), **kwargs))
    message = str(info.value)
    for part in parts:  # each part starts a word: "seed must" is not found in "xseed must"
        assert re.search(r"(?<!\w)" + re.escape(part), message), (part, message)


def test_batch_size_one_is_valid():
    images = np.arange(3, dtype=np.uint8).reshape(3, 1, 1)
    batches = list(fm.minibatches(images, np.arange(3), 1, shuffle=False))
    assert [int(y[0]) for _, y in batches] == [0, 1, 2]
