"""Tests of training.fashion_mnist: IDX reading, the search order, downloads, minibatches.

No test needs the internet or the real dataset: each builds a small IDX set in
tmp_path, writing the bytes by hand with struct (independent of the reader),
and downloads come from a local http.server. One test reads the Debian copy of
the real dataset when it is installed.
"""

import gzip
import hashlib
import http.server
import struct
import threading
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import training.fashion_mnist as fm
from tests.idx_files import NAMES, idx_bytes, make_split, write
from training.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    DatasetError,
    load_fashion_mnist,
    minibatches,
    read_idx,
)

REAL_SYSTEM_DIR = fm.SYSTEM_DIR


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No data or proxy from the environment: empty cache and system dir, unreachable mirror."""
    for var in ("FASHION_MNIST_DIR", "XDG_CACHE_HOME", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "system")
    # Nothing listens on port 1, so a download a test did not mean to make fails fast.
    monkeypatch.setenv("FASHION_MNIST_MIRROR", "http://127.0.0.1:1/")
    return SimpleNamespace(cache=tmp_path / "home/.cache/cnn-chapter-reference/fashion-mnist")


# --- read_idx ---------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_images_and_labels(tmp_path, gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    out = read_idx(write(tmp_path / "images", idx_bytes(images), gz=gz))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, images)
    out[0, 0, 0] = 1  # the result is an ordinary writable array
    np.testing.assert_array_equal(read_idx(write(tmp_path / "l", idx_bytes(labels), gz=gz)), labels)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    labels = np.array([1, 2, 3], dtype=np.uint8)
    gz_without_suffix = write(tmp_path / "labels-idx1-ubyte", idx_bytes(labels), gz=True)
    raw_with_suffix = write(tmp_path / "labels-idx1-ubyte.gz", idx_bytes(labels), gz=False)
    np.testing.assert_array_equal(read_idx(gz_without_suffix), labels)
    np.testing.assert_array_equal(read_idx(raw_with_suffix), labels)


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        (b"\x00\x00\x0d\x01", "0x00000d01"),  # float32 data: not Fashion-MNIST's type
        (b"\x12\x34\x08\x01", "0x12340801"),
        (b"\x00\x00\x08\x00", "0x00000800"),  # zero dimensions
    ],
)
def test_read_idx_rejects_bad_magic(tmp_path, header, shown):
    path = write(tmp_path / "bad-idx1-ubyte", header + struct.pack(">I", 1) + b"\x05", gz=False)
    with pytest.raises(DatasetError, match=shown) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_truncated_data_names_file_and_byte_counts(tmp_path, gz):
    payload = idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8))[:-100]
    path = write(tmp_path / "images-idx3-ubyte", payload, gz=gz)
    with pytest.raises(DatasetError, match="truncated") as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and str(3 * 28 * 28) in message and str(3 * 28 * 28 - 100) in message


def test_read_idx_trailing_bytes(tmp_path):
    path = write(tmp_path / "l", idx_bytes(np.zeros(4, dtype=np.uint8)) + b"\x00", gz=False)
    with pytest.raises(DatasetError, match=r"need 4 data bytes, the file holds 5"):
        read_idx(path)


@pytest.mark.parametrize("payload", [b"\x00\x00", b"\x00\x00\x08\x03" + b"\x00" * 8])
def test_read_idx_truncated_header(tmp_path, payload):
    path = write(tmp_path / "short", payload, gz=False)
    with pytest.raises(DatasetError, match=r"too short|truncated header") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_cut_gzip_stream(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.ones((5, 28, 28), dtype=np.uint8)))[:-20])
    with pytest.raises(DatasetError, match="corrupt gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


# --- load_fashion_mnist: validation -----------------------------------------


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_load_small_split(tmp_path, split, gz):
    images, labels = make_split(tmp_path / "data", split, n=7, gz=gz)
    X, y = load_fashion_mnist(split, tmp_path / "data")
    assert X.dtype == np.uint8 and X.shape == (7, 28, 28)
    assert y.dtype == np.uint8 and y.shape == (7,)
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, labels)


def test_bad_split_names_the_value(tmp_path):
    with pytest.raises(ValueError, match="'validation'"):
        load_fashion_mnist("validation", tmp_path)


def test_image_label_count_mismatch_names_both_files(tmp_path):
    make_split(tmp_path, n=5)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(4, np.uint8)), gz=True)
    with pytest.raises(DatasetError, match=r"5 images.*4 labels") as info:
        load_fashion_mnist("train", tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert "train-labels-idx1-ubyte.gz" in str(info.value)


def test_label_out_of_range(tmp_path):
    make_split(tmp_path, n=3)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.array([1, 10, 2], np.uint8)), gz=True)
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte\.gz: label 10"):
        load_fashion_mnist("train", tmp_path)


def test_labels_where_images_belong_is_a_magic_error(tmp_path):
    make_split(tmp_path, n=3)
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.zeros(3, np.uint8)), gz=True)
    with pytest.raises(DatasetError, match="0x00000801, expected 0x00000803") as info:
        load_fashion_mnist("train", tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_images_must_be_28_by_28(tmp_path):
    make_split(tmp_path, n=3)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((3, 27, 28), np.uint8)), gz=False)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: images are \(27, 28\)"):
        load_fashion_mnist("train", tmp_path)


def test_truncated_file_in_dataset_names_it(tmp_path):
    make_split(tmp_path, n=3)
    payload = idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-1]
    write(tmp_path / "train-images-idx3-ubyte.gz", payload, gz=True)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz: truncated.*2352.*2351"):
        load_fashion_mnist("train", tmp_path)


# --- load_fashion_mnist: where the files are found --------------------------


def test_explicit_dir_beats_env_cache_and_system(tmp_path, monkeypatch, isolated):
    make_split(tmp_path / "explicit", n=3)
    make_split(tmp_path / "env", n=4)
    make_split(isolated.cache, n=5)
    make_split(fm.SYSTEM_DIR, n=6)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "env"))
    assert len(load_fashion_mnist("train", tmp_path / "explicit")[0]) == 3
    assert len(load_fashion_mnist("train", str(tmp_path / "explicit"))[0]) == 3
    assert len(load_fashion_mnist("train")[0]) == 4


def test_cache_beats_system_dir(isolated):
    make_split(isolated.cache, n=5)
    make_split(fm.SYSTEM_DIR, n=6)
    assert len(load_fashion_mnist("train")[0]) == 5


def test_xdg_cache_home_is_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    make_split(tmp_path / "xdg/cnn-chapter-reference/fashion-mnist", n=5, gz=False)
    make_split(fm.SYSTEM_DIR, n=6)
    assert len(load_fashion_mnist("train")[0]) == 5


def test_relative_xdg_cache_home_is_ignored(monkeypatch, isolated):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    make_split(isolated.cache, n=5)
    assert len(load_fashion_mnist("train")[0]) == 5


def test_system_dir_is_used_without_writing_the_cache(isolated):
    make_split(fm.SYSTEM_DIR, "test", n=6)
    assert len(load_fashion_mnist("test", download=False)[0]) == 6
    assert not isolated.cache.exists()


def test_a_split_needs_both_files_in_one_place(isolated):
    make_split(isolated.cache, n=5)
    (isolated.cache / "train-labels-idx1-ubyte.gz").unlink()
    make_split(fm.SYSTEM_DIR, n=6)
    assert len(load_fashion_mnist("train", download=False)[0]) == 6


def test_explicit_dir_lacking_files_does_not_fall_back(tmp_path, isolated):
    make_split(isolated.cache, n=5)
    make_split(tmp_path / "explicit", "test", n=3)  # the wrong split only
    with pytest.raises(DatasetError, match="data_dir") as info:
        load_fashion_mnist("train", tmp_path / "explicit")
    message = str(info.value)
    assert str(tmp_path / "explicit") in message
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message


def test_env_dir_lacking_files_does_not_fall_back(tmp_path, monkeypatch, isolated):
    make_split(isolated.cache, n=5)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="FASHION_MNIST_DIR") as info:
        load_fashion_mnist("train")
    assert str(tmp_path / "nowhere") in str(info.value)


def test_nothing_found_and_no_download(isolated):
    with pytest.raises(DatasetError, match="download=False") as info:
        load_fashion_mnist("test", download=False)
    assert str(isolated.cache) in str(info.value) and str(fm.SYSTEM_DIR) in str(info.value)


# --- downloads --------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local HTTP mirror serving small .gz files, with CHECKSUMS set to their MD5s."""
    served = tmp_path / "served"
    data = {split: make_split(served, split, n=n, seed=n) for split, n in (("train", 8), ("test", 4))}
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    checksums = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in served.iterdir()}
    monkeypatch.setattr(fm, "CHECKSUMS", checksums)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield SimpleNamespace(url=url, data=data, requests=requests, checksums=checksums)
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_writes_verified_files_into_the_cache(mirror, isolated):
    X, y = load_fashion_mnist("train", mirror=mirror.url + "/")
    np.testing.assert_array_equal(X, mirror.data["train"][0])
    np.testing.assert_array_equal(y, mirror.data["train"][1])
    assert files_under(isolated.cache) == [
        isolated.cache / "train-images-idx3-ubyte.gz",
        isolated.cache / "train-labels-idx1-ubyte.gz",
    ]
    assert mirror.requests == ["/train-images-idx3-ubyte.gz", "/train-labels-idx1-ubyte.gz"]
    load_fashion_mnist("train", mirror=mirror.url)  # now from the cache: no new request
    assert len(mirror.requests) == 2


def test_download_mirror_from_env_and_only_missing_files(mirror, monkeypatch, isolated):
    monkeypatch.setenv("FASHION_MNIST_MIRROR", mirror.url)
    images, _ = make_split(isolated.cache, "test", n=4, seed=4, gz=False)
    (isolated.cache / "t10k-labels-idx1-ubyte").unlink()
    X, y = load_fashion_mnist("test")
    assert mirror.requests == ["/t10k-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, mirror.data["test"][1])


def test_checksum_mismatch_names_both_digests_and_leaves_nothing(mirror, monkeypatch, isolated):
    wrong = "0123456789abcdef0123456789abcdef"
    monkeypatch.setattr(fm, "CHECKSUMS", dict.fromkeys(mirror.checksums, wrong))
    with pytest.raises(DatasetError, match="checksum") as info:
        load_fashion_mnist("train", mirror=mirror.url)
    message = str(info.value)
    assert wrong in message and mirror.checksums["train-images-idx3-ubyte.gz"] in message
    assert "train-images-idx3-ubyte.gz" in message
    assert files_under(isolated.cache) == []  # neither the file nor a temporary one


def test_http_404_is_a_clear_error_and_leaves_nothing(mirror, isolated):
    with pytest.raises(DatasetError, match="404") as info:
        load_fashion_mnist("train", mirror=mirror.url + "/no/such/folder")
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert files_under(isolated.cache) == []


def test_unreachable_mirror_is_a_clear_error_and_leaves_nothing(isolated):
    with pytest.raises(DatasetError, match=r"download of http://127\.0\.0\.1:1/.* failed"):
        load_fashion_mnist("test")
    assert files_under(isolated.cache) == []


# --- minibatches ------------------------------------------------------------


def numbered(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose pixels all equal the example's index, and labels = index."""
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, 28, 28)).copy()
    return images, np.arange(n, dtype=np.uint8)


def order(batches) -> np.ndarray:
    return np.concatenate([y for _, y in batches])


def test_batches_shapes_dtypes_and_scaling():
    images = np.random.default_rng(1).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    images[3, 0, 0], images[3, 0, 1] = 0, 255
    labels = np.arange(10, dtype=np.uint8)
    batches = list(minibatches(images, labels, 4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    for X, y in batches:
        assert X.dtype == np.float32 and X.shape == (len(y), 1, 28, 28)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(X[:, 0], images[y].astype(np.float32) / np.float32(255))
    X_all = np.concatenate([X for X, _ in batches])
    assert X_all.min() == 0.0 and X_all.max() == 1.0


def test_images_and_labels_stay_paired():
    images, labels = numbered(23)
    for X, y in minibatches(images, labels, 5, seed=3, epoch=1):
        np.testing.assert_array_equal(X[:, 0, 0, 0] * 255, y)


@pytest.mark.parametrize("seed", [0, 1, None])
@pytest.mark.parametrize("epoch", [0, 5])
def test_every_example_once_per_epoch(seed, epoch):
    images, labels = numbered(23)
    seen = order(minibatches(images, labels, 5, seed=seed, epoch=epoch))
    np.testing.assert_array_equal(np.sort(seen), np.arange(23))


def test_same_seed_and_epoch_same_order_else_different():
    images, labels = numbered(50)
    first = order(minibatches(images, labels, 7, seed=0, epoch=2))
    np.testing.assert_array_equal(first, order(minibatches(images, labels, 7, seed=0, epoch=2)))
    assert not np.array_equal(first, order(minibatches(images, labels, 7, seed=0, epoch=3)))
    assert not np.array_equal(first, order(minibatches(images, labels, 7, seed=1, epoch=2)))
    assert not np.array_equal(first, np.arange(50))


def test_order_is_the_documented_permutation():
    images, labels = numbered(40)
    bits = np.random.default_rng([4, 2]).bit_generator.random_raw(40)
    expected = np.argsort(bits, kind="stable")
    np.testing.assert_array_equal(order(minibatches(images, labels, 8, seed=4, epoch=2)), expected)


def test_order_is_frozen_across_numpy_versions():
    # Recorded on NumPy 1.23.5 and 2.4.6 alike; a change would desynchronise backends
    # whose environments pin different NumPy versions.
    images, labels = numbered(10)
    got = order(minibatches(images, labels, 3, seed=0, epoch=0))
    np.testing.assert_array_equal(got, [3, 2, 1, 8, 6, 0, 7, 4, 5, 9])


def test_no_shuffle_keeps_file_order():
    images, labels = numbered(11)
    np.testing.assert_array_equal(order(minibatches(images, labels, 4, seed=9, shuffle=False)), np.arange(11))


@pytest.mark.parametrize(("n", "sizes"), [(23, [5, 5, 5, 5]), (20, [5, 5, 5, 5]), (4, [])])
def test_drop_last(n, sizes):
    images, labels = numbered(n)
    assert [len(y) for _, y in minibatches(images, labels, 5, drop_last=True)] == sizes


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"batch_size": 2, "seed": -1}, ValueError, "seed"),
        ({"batch_size": 2, "epoch": -1}, ValueError, "epoch"),
        ({"batch_size": 2, "labels": np.arange(5)}, ValueError, "labels"),
        ({"batch_size": 2, "labels": np.zeros(6)}, ValueError, "labels"),
        ({"batch_size": 2, "images": np.zeros((6, 28, 28))}, ValueError, "images"),
        ({"batch_size": 2, "images": np.zeros((6, 784), np.uint8)}, ValueError, "images"),
    ],
)
def test_minibatches_validates_arguments(kwargs, error, pattern):
    images, labels = numbered(6)
    arguments = {"images": images, "labels": labels, **kwargs}
    with pytest.raises(error, match=pattern):
        next(minibatches(**arguments))


def test_class_names_are_the_chapters():
    assert FASHION_MNIST_CLASSES == (
        "t-shirt", "trouser", "pullover", "dress", "coat",
        "sandal", "shirt", "sneaker", "bag", "ankle boot",
    )  # fmt: skip


# --- the real dataset, where Debian's package dataset-fashion-mnist installed it ---

DEBIAN_FILES = [REAL_SYSTEM_DIR / f"{name}.gz" for names in NAMES.values() for name in names]


@pytest.mark.skipif(
    not all(path.is_file() for path in DEBIAN_FILES),
    reason=f"real Fashion-MNIST not installed in {REAL_SYSTEM_DIR} (apt-get install dataset-fashion-mnist)",
)
@pytest.mark.parametrize(
    ("split", "n", "known"),
    [("train", 60000, {0: 9, 1: 0, 2: 0, -3: 3, -2: 0, -1: 5}), ("test", 10000, {0: 9})],
)
def test_real_dataset_from_the_debian_package(monkeypatch, split, n, known):
    monkeypatch.setattr(fm, "SYSTEM_DIR", REAL_SYSTEM_DIR)
    images, labels = load_fashion_mnist(split, download=False)
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [n // 10] * 10)
    assert images.min() == 0 and images.max() == 255
    # Labels that TensorFlow's "Basic classification" tutorial prints for these splits.
    assert {i: int(labels[i]) for i in known} == known


# --- the first run offline ----------------------------------------------------


def assert_names_the_three_remedies(message: str, cache: Path, urls: list[str]) -> None:
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(fm.SYSTEM_DIR) in message
    assert "FASHION_MNIST_DIR" in message
    for url in urls:
        assert url in message
    assert str(cache) in message


def test_offline_first_run_names_the_package_the_variable_and_the_urls(isolated):
    with pytest.raises(DatasetError, match=r"download of http://127\.0\.0\.1:1/") as info:
        load_fashion_mnist("train")
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    urls = [f"http://127.0.0.1:1/{name}.gz" for name in names]
    assert_names_the_three_remedies(str(info.value), isolated.cache, urls)


def test_offline_message_lists_only_the_files_still_missing(isolated):
    make_split(isolated.cache, "test", n=4, seed=4)
    (isolated.cache / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError) as info:
        load_fashion_mnist("test")
    message = str(info.value)
    assert_names_the_three_remedies(message, isolated.cache, ["http://127.0.0.1:1/t10k-labels-idx1-ubyte.gz"])
    assert "t10k-images-idx3-ubyte.gz" not in message


def test_no_download_message_names_the_three_remedies(isolated):
    with pytest.raises(DatasetError) as info:
        load_fashion_mnist("test", download=False)
    names = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    urls = [f"http://127.0.0.1:1/{name}.gz" for name in names]
    assert_names_the_three_remedies(str(info.value), isolated.cache, urls)


def test_training_cli_offline_exits_2_with_the_remedies(isolated, capsys):
    from training.__main__ import main

    assert main(["--backend", "reference", "--epochs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m training: error: download of http://127.0.0.1:1/")
    assert "Traceback" not in err
    url = "http://127.0.0.1:1/train-images-idx3-ubyte.gz"
    assert_names_the_three_remedies(err, isolated.cache, [url])
