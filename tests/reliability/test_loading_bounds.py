"""Hostile checkpoint files are refused from their headers, before any data is read.

A checkpoint's ``.npy`` headers say each entry's shape and dtype in a few hundred bytes; the
data follows. Loading compares the headers with the model (or the optimiser) first, so a tiny
file that claims a huge shape, or a zip bomb that inflates to a gigabyte, costs nothing. The
memory claims are tested where they would show: in a subprocess whose address space is
limited (``resource.setrlimit``) to a little more than it already uses, so that a load that
allocated the claimed size would fail with MemoryError instead of taking the machine down.
"""

import io
import os
import stat
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest

from tinygrad_edu import CheckpointError
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD, Adam
from tinygrad_edu.train import History

X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]], dtype=np.float32)
Y = np.array([0, 1, 2])
GIB = 2**30


def npy_header(shape, descr="<f8") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return out.getvalue()


def write_zip(path, members) -> None:
    """A zip archive from (name, deflated bytes, crc, uncompressed size) members, by hand,
    so that a test can store a huge entry without compressing it for seconds."""
    out = bytearray()
    central = bytearray()
    for name, data, crc, size in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size,
                           len(encoded), 0) + encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc,
                               len(data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(out), 0)
    with open(path, "wb") as f:
        f.write(bytes(out + central + end))


def zip_bomb_member(name: str, n_bytes: int):
    """An entry whose header honestly says n_bytes / 8 float64 zeros, and which inflates to
    that: deflated in 16 MiB blocks (each compressed once and repeated)."""
    header = npy_header((n_bytes // 8,))
    chunk = bytes(2**24)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(header + chunk) + c.flush(zlib.Z_FULL_FLUSH)
    rest = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)  # the same bytes for every block
    n_chunks = n_bytes // len(chunk)
    data = first + rest * (n_chunks - 1) + c.flush()
    crc = zlib.crc32(header)
    for _ in range(n_chunks):
        crc = zlib.crc32(chunk, crc)
    return name, data, crc, len(header) + n_bytes


def huge_claim_member(name: str, shape=(10**10,)):
    """An entry of about a hundred bytes whose header claims an array of 74.5 GiB."""
    raw = npy_header(shape) + bytes(16)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, c.compress(raw) + c.flush(), zlib.crc32(raw), len(raw)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    files = {
        "bomb-model": [zip_bomb_member("layers.0.weight.npy", GIB)],
        "claim-model": [huge_claim_member("layers.0.weight.npy")],
        "claim-opt": [huge_claim_member("state.0.m.npy")],
    }
    paths = {}
    for kind, members in files.items():
        paths[kind] = folder / f"{kind}.npz"
        write_zip(paths[kind], members)
    # The bomb is what the issue describes: about 1 MB on disk, 1 GiB inflated.
    assert os.path.getsize(paths["bomb-model"]) < 2 * 2**20
    with zipfile.ZipFile(paths["bomb-model"]) as z:
        assert z.infolist()[0].file_size > GIB
    return paths


LIMITED = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from tinygrad_edu import CheckpointError
    from tinygrad_edu.nn import MLP
    from tinygrad_edu.optim import Adam

    model = MLP([2, 3, 3], rng=0)
    opt = Adam(model.parameters(), lr=0.01)
    before = model.state_dict()
    with open("/proc/self/status") as f:
        used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    # A little more than this process already uses: far less than any claimed array.
    resource.setrlimit(resource.RLIMIT_AS, (used + 96 * 2**20, resource.RLIM_INFINITY))
    for kind, path in zip(sys.argv[1::2], sys.argv[2::2]):
        target = opt if kind.endswith("opt") else model
        try:
            target.load(path)
            print(kind, "loaded")
        except CheckpointError as e:
            print(kind, "CheckpointError", str(e).replace("\\n", " "))
        except MemoryError as e:
            print(kind, "MemoryError", e)
    unchanged = all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    print("unchanged", unchanged)
    try:  # the limit is real: the bomb's gigabyte could not have been allocated
        np.ones(2**27)
        print("limit", "not effective")
    except MemoryError:
        print("limit", "effective")
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs RLIMIT_AS and /proc")
def test_hostile_files_are_refused_within_a_small_address_space(hostile):
    args = [a for kind, path in hostile.items() for a in (kind, str(path))]
    done = subprocess.run([sys.executable, "-c", LIMITED, *args], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["limit"] == "effective"
    assert lines["unchanged"] == "True"
    for kind in hostile:
        assert lines[kind].startswith("CheckpointError"), (kind, lines[kind])
    # The messages name the entry and what the header claimed against what was expected.
    assert "'layers.0.weight'" in lines["bomb-model"]
    assert "(134217728,)" in lines["bomb-model"] and "(3, 2)" in lines["bomb-model"]
    assert "(10000000000,)" in lines["claim-model"]
    assert "'state.0.m'" in lines["claim-opt"] and "(10000000000,)" in lines["claim-opt"]
    assert "nothing was read" in lines["claim-opt"]


def test_nothing_is_decompressed_before_the_headers_fit(tmp_path, monkeypatch):
    """Without a memory limit: the data reader is never reached for a file that does not fit."""
    import tinygrad_edu.checkpoint as checkpoint

    path = tmp_path / "claim.npz"
    write_zip(path, [huge_claim_member("layers.0.weight.npy", shape=(4, 2))])
    reads = []
    original = checkpoint._read_data
    monkeypatch.setattr(checkpoint, "_read_data", lambda *a: reads.append(a) or original(*a))
    with pytest.raises(CheckpointError, match=r"\(4, 2\).*\(3, 2\)"):
        MLP([2, 3, 3], rng=0).load(path)
    assert reads == []


def test_a_truncated_entry_is_reported_as_truncated(tmp_path):
    """The zip is intact, but the entry holds fewer bytes than its header promises."""
    model = MLP([2, 3, 3], rng=0)
    state = model.state_dict()
    raw = npy_header((3, 2), "<f4") + state["layers.0.weight"].tobytes()[:10]
    with zipfile.ZipFile(tmp_path / "cut.npz", "w") as z:
        z.writestr("layers.0.weight.npy", raw)
        for name, value in state.items():
            if name != "layers.0.weight":
                buf = io.BytesIO()
                np.save(buf, value)
                z.writestr(name + ".npy", buf.getvalue())
    with pytest.raises(CheckpointError) as excinfo:
        MLP([2, 3, 3], rng=1).load(tmp_path / "cut.npz")
    message = str(excinfo.value)
    assert "'layers.0.weight' is truncated" in message
    assert "(3, 2)" in message and "24 bytes" in message and "only 10" in message
    assert "pickle" not in message


def test_an_entry_that_is_not_an_array_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "odd.npz", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="'readme.txt', which is not a .npy array"):
        MLP([2, 3, 3]).load(tmp_path / "odd.npz")


def test_an_optimizer_file_with_extra_large_entries_is_refused_before_reading(tmp_path):
    model = MLP([2, 3, 3], rng=0)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["lr"] = np.zeros(10**6)  # a hyper-parameter holds one number, not a million
    np.savez(tmp_path / "opt.npz", **state)
    with pytest.raises(CheckpointError, match=r"'lr' is too large \(shape \(1000000,\)"):
        opt.load(tmp_path / "opt.npz")
    state = opt.state_dict()
    state["state.0.extra"] = np.zeros((3, 2))
    np.savez(tmp_path / "opt2.npz", **state)
    with pytest.raises(CheckpointError, match="unexpected entry 'state.0.extra'"):
        opt.load(tmp_path / "opt2.npz")


def test_good_files_still_load(tmp_path):
    model, other = MLP([2, 3, 3], rng=0), MLP([2, 3, 3], rng=1)
    opt = Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        cross_entropy(model(X), Y).backward()
        opt.step()
    model.save(tmp_path / "m.npz")
    opt.save(tmp_path / "o.npz")
    other.load(tmp_path / "m.npz")
    for (name, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    again = Adam(other.parameters(), lr=0.5).load(tmp_path / "o.npz")
    assert again.lr == 0.01 and again.step_count == 2
    np.testing.assert_array_equal(again.state[0]["v"], opt.state[0]["v"])


# ----------------------------------------------------------------------------- file modes


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("what", ["model", "optimizer", "history"])
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_saving_over_a_file_keeps_its_mode(tmp_path, what, mode):
    model = MLP([2, 3, 3], rng=0)
    save = {
        "model": model.save,
        "optimizer": SGD(model.parameters(), lr=0.1).save,
        "history": History(losses=[1.0, 0.5]).save,
    }[what]
    path = tmp_path / "file"
    save(path)
    os.chmod(path, mode)
    save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert sorted(os.listdir(tmp_path)) == ["file"]  # no temporary file left behind


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        MLP([2, 3, 3]).save(tmp_path / "new.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640


def test_saving_under_a_regular_file_says_so(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a directory"):
        MLP([2, 3, 3]).save(tmp_path / "plain" / "model.npz")


def test_an_encrypted_entry_is_refused_as_damaged(tmp_path):
    """The zip flag for encryption set (as one damaged byte can): a CheckpointError, not
    zipfile's RuntimeError asking for a password."""
    path = tmp_path / "model.npz"
    MLP([2, 3, 3], rng=0).save(path)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"PK\x01\x02")  # the first central directory record
    struct.pack_into("<H", raw, at + 8, 1)  # general purpose flag: encrypted
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="'layers.0.weight' is damaged.*encrypted"):
        MLP([2, 3, 3]).load(path)
