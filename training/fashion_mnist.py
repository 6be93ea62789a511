"""Fashion-MNIST in its original IDX format, and the one seeded minibatch iterator.

`load_fashion_mnist` looks for the four IDX files (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
each raw or gzipped with a ``.gz`` suffix) in this order:

1. the ``data_dir`` argument, else the ``FASHION_MNIST_DIR`` environment variable.
   Such a directory is authoritative: if it lacks a file the load fails, with no
   fall-back to the places below and no download;
2. the user cache, ``$XDG_CACHE_HOME/cnn-chapter-reference/fashion-mnist``
   (``~/.cache/...`` when ``XDG_CACHE_HOME`` is unset or not absolute);
3. `SYSTEM_DIR`, where Debian's package ``dataset-fashion-mnist`` installs the
   four ``.gz`` files;
4. a download of the split's missing ``.gz`` files from the official mirror (or
   ``mirror`` / ``FASHION_MNIST_MIRROR``) into the cache. Each file's MD5 must
   match the one the dataset's README publishes (`CHECKSUMS`); it is written to
   a temporary file in the cache and renamed into place only once verified, so a
   failed download leaves nothing behind.

When none of these has the files and the download fails (offline, a wrong
mirror), the error names the three remedies: the Debian/Ubuntu package, a folder
named by ``FASHION_MNIST_DIR``, and the URLs to fetch by hand into the cache.

MD5 guards against corruption, not tampering. Checksums apply to downloads
only: Debian recompresses the files (same IDX content, other ``.gz`` bytes), so
files found on disk are validated by structure instead (magic number, sizes,
counts, label range). Every problem with the data raises `DatasetError`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import math
import operator
import os
import tempfile
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import SupportsIndex

import numpy as np

__all__ = [
    "CHECKSUMS",
    "DEFAULT_MIRROR",
    "FASHION_MNIST_CLASSES",
    "SYSTEM_DIR",
    "DatasetError",
    "load_fashion_mnist",
    "minibatches",
    "read_idx",
]

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip
"""Text labels of classes 0-9, as the chapter's ``get_fashion_mnist_labels`` prints them."""

DEFAULT_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
"""Official download location (github.com/zalandoresearch/fashion-mnist, README)."""

CHECKSUMS: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
"""MD5 of each file as served by `DEFAULT_MIRROR`, from the dataset's README."""

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian/Ubuntu's package ``dataset-fashion-mnist`` installs the ``.gz`` files."""

_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IMAGE_MAGIC, _LABEL_MAGIC = 0x00000803, 0x00000801
_UBYTE = 0x08  # the IDX type code of unsigned bytes, the only one Fashion-MNIST uses


class DatasetError(ValueError):
    """The dataset is missing, cannot be downloaded, or fails validation.

    The message names the file (or URL) and what was expected; for a checksum
    mismatch, the expected and the actual digest.
    """


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzipped or raw.

    Compression is detected from the content (gzip's magic bytes ``1f 8b``),
    not the file name. The header is the magic number ``0x000008NN`` (``NN``
    dimensions), then ``NN`` big-endian uint32 sizes; the data must hold
    exactly their product of bytes.

    Returns:
        A writable uint8 array whose shape is the declared sizes, e.g.
        (N, 28, 28) for an image file (magic 0x00000803), (N,) for labels
        (magic 0x00000801).

    Raises:
        DatasetError: corrupt gzip stream, unknown magic number, or a data
            size that differs from the declared one (truncated or padded file).
        OSError: the file cannot be opened.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path}: corrupt gzip data ({exc})") from exc
    if len(data) < 4:
        raise DatasetError(f"{path}: {len(data)} bytes, too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    ndim = data[3]
    if data[:2] != b"\x00\x00" or data[2] != _UBYTE or ndim == 0:
        raise DatasetError(
            f"{path}: magic number 0x{magic:08x} is not that of an IDX file of "
            f"unsigned bytes (0x000008NN, NN >= 1 dimensions)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated header, expected {header} bytes, got {len(data)}")
    shape = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, header, 4))
    expected = math.prod(shape)
    actual = len(data) - header
    if actual != expected:
        problem = "truncated" if actual < expected else "trailing bytes"
        raise DatasetError(
            f"{path}: {problem}: dimensions {shape} need {expected} data bytes, the file holds {actual}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def load_fashion_mnist(
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    mirror: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of Fashion-MNIST, searching and downloading as the module says.

    Args:
        split: ``"train"`` (60000 examples) or ``"test"`` (10000).
        data_dir: a directory holding the split's two files; overrides
            ``FASHION_MNIST_DIR``. Either one is authoritative (no fall-back).
        download: whether to download into the cache when no local copy exists.
        mirror: base URL to download from; default ``FASHION_MNIST_MIRROR``,
            else `DEFAULT_MIRROR`.

    Returns:
        ``(images, labels)``: uint8 arrays of shapes (N, 28, 28) and (N,), pixel
        values 0-255 and class indices 0-9 (see `FASHION_MNIST_CLASSES`).

    Raises:
        ValueError: ``split`` is neither ``"train"`` nor ``"test"``.
        DatasetError: files missing, download failed or mismatched its
            checksum, or the files are invalid; the message names the file
            (and, when nothing was found and nothing could be downloaded,
            the three remedies of the module docstring).
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    names = _SPLITS[split]
    explicit = data_dir if data_dir is not None else os.environ.get("FASHION_MNIST_DIR") or None
    if explicit is not None:
        directory = Path(explicit)
        missing = [name for name in names if not _path(directory, name).is_file()]
        if missing:
            source = "data_dir" if data_dir is not None else "FASHION_MNIST_DIR"
            raise DatasetError(
                f"{source} {directory} lacks {' and '.join(missing)} (raw or .gz); "
                "an explicit directory is used alone, without the cache, the "
                "system copy or a download"
            )
    else:
        directory = _locate_or_download(names, download=download, mirror=mirror)
    image_path, label_path = (_path(directory, name) for name in names)
    images, labels = read_idx(image_path), read_idx(label_path)
    _check_magic(image_path, images, _IMAGE_MAGIC)
    _check_magic(label_path, labels, _LABEL_MAGIC)
    if images.shape[1:] != (28, 28):
        raise DatasetError(f"{image_path}: images are {images.shape[1:]}, expected (28, 28)")
    if len(images) != len(labels):
        raise DatasetError(
            f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{label_path}: label {labels.max()} is outside 0..9")
    return images, labels


def minibatches(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    *,
    seed: int | None = 0,
    epoch: int = 0,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield one epoch of minibatches; every backend uses this to see the same data.

    With ``shuffle``, the order is a permutation that depends only on
    ``(seed, epoch)``: the stable argsort of N raw 64-bit outputs of PCG64 seeded
    by ``numpy.random.SeedSequence([seed, epoch])`` (the bit generator of
    ``numpy.random.default_rng([seed, epoch])``). NumPy keeps that raw stream
    fixed across versions, unlike ``Generator.permutation``'s algorithm, so the
    order is the same on NumPy 1.23 and 2.x. ``seed=None`` draws fresh OS
    entropy instead (not reproducible; ``epoch`` is then ignored). Without
    ``shuffle`` the order is 0..N-1.

    Args:
        images: uint8 array (N, H, W), e.g. from `load_fashion_mnist`.
        labels: integer array (N,).
        batch_size: examples per batch, at least 1.
        seed, epoch: non-negative integers selecting the permutation.
        shuffle: whether to permute the examples.
        drop_last: whether to drop a final batch smaller than ``batch_size``.

    Yields:
        ``(X, y)``: X float32 (B, 1, H, W) in NCHW, ``images / 255`` in [0, 1];
        y int64 (B,). B is ``batch_size`` except perhaps for the last batch.
    """
    images, labels, batch_size = _checked_data(images, labels, batch_size)
    order = _epoch_order(len(images), seed=seed, epoch=epoch, shuffle=shuffle)
    stop = len(images) - len(images) % batch_size if drop_last else len(images)
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        X = np.divide(images[idx], 255, dtype=np.float32)[:, None]
        yield X, labels[idx].astype(np.int64)


def _checked_data(
    images: np.ndarray, labels: np.ndarray, batch_size: SupportsIndex
) -> tuple[np.ndarray, np.ndarray, int]:
    """``images`` and ``labels`` as arrays and ``batch_size`` as an int, after `minibatches`'s checks."""
    images, labels = np.asarray(images), np.asarray(labels)
    batch_size = _as_int("batch_size", batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"images must be a uint8 array of shape (N, H, W), got {images.dtype} {images.shape}"
        )
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be an integer array of shape ({len(images)},) to match "
            f"images, got {labels.dtype} {labels.shape}"
        )
    return images, labels, batch_size


def _epoch_order(n: int, *, seed: SupportsIndex | None, epoch: SupportsIndex, shuffle: bool) -> np.ndarray:
    """The order in which `minibatches` visits ``n`` examples in one epoch (its docstring says how)."""
    entropy = None if seed is None else [_as_int("seed", seed), _as_int("epoch", epoch)]
    if entropy is not None and min(entropy) < 0:
        raise ValueError(f"seed and epoch must be >= 0, got seed={seed}, epoch={epoch}")
    if not shuffle:
        return np.arange(n)
    keys = np.random.PCG64(np.random.SeedSequence(entropy)).random_raw(n)
    return np.argsort(keys, kind="stable")


def _as_int(name: str, value: SupportsIndex) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None


def _path(directory: Path, name: str) -> Path:
    """The raw file ``name`` in ``directory`` if it exists, else ``name.gz`` there."""
    raw = directory / name
    return raw if raw.is_file() else directory / f"{name}.gz"


def _cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "cnn-chapter-reference" / "fashion-mnist"


def _locate_or_download(names: tuple[str, str], *, download: bool, mirror: str | None) -> Path:
    """The cache or system directory holding ``names``, else the cache after a download."""
    cache = _cache_dir()
    for directory in (cache, SYSTEM_DIR):
        if all(_path(directory, name).is_file() for name in names):
            return directory
    base = mirror or os.environ.get("FASHION_MNIST_MIRROR") or DEFAULT_MIRROR
    missing = [f"{name}.gz" for name in names if not _path(cache, name).is_file()]
    urls = {filename: f"{base.rstrip('/')}/{filename}" for filename in missing}
    if not download:
        raise DatasetError(
            f"{' and '.join(names)} not found (raw or .gz) in {cache} or {SYSTEM_DIR}, "
            f"and download=False.\n{_remedies(cache, urls)}"
        )
    try:
        for filename, url in urls.items():
            _download(url, cache / filename, CHECKSUMS[filename])
    except DatasetError as exc:
        raise DatasetError(f"{exc}\n{_remedies(cache, urls)}") from exc
    return cache


def _remedies(cache: Path, urls: dict[str, str]) -> str:
    """What a user can do when the files are neither on disk nor downloadable: three ways."""
    fetch = " ".join(urls.values())
    return (
        "Fashion-MNIST is needed; any one of these provides it:\n"
        f"  1. Debian/Ubuntu: apt-get install dataset-fashion-mnist (installs it in {SYSTEM_DIR});\n"
        "  2. put the four IDX files (raw or .gz) in a folder and set FASHION_MNIST_DIR to it "
        "(or pass data_dir / --data-dir);\n"
        f"  3. fetch {fetch} by hand (from a machine with internet) into {cache}."
    )


def _download(url: str, dest: Path, md5: str) -> None:
    """Fetch ``url`` into ``dest`` atomically, verifying its MD5 before the rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    while chunk := response.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
                raise DatasetError(f"download of {url} failed: {exc}") from exc
        if digest.hexdigest() != md5:
            raise DatasetError(
                f"checksum mismatch for {url}: expected MD5 {md5}, got "
                f"{digest.hexdigest()}; nothing was written to {dest.parent}"
            )
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _check_magic(path: Path, array: np.ndarray, magic: int) -> None:
    # read_idx accepts only unsigned bytes, so the magic number is 0x800 + ndim.
    if 0x800 + array.ndim != magic:
        raise DatasetError(f"{path}: magic number 0x{0x800 + array.ndim:08x}, expected 0x{magic:08x}")
