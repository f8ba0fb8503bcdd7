"""Tests for helpers.parallel on a real Dask cluster: a scheduler and two workers started with Dask's
own command line (``dask scheduler``, ``dask worker``) on loopback, each in its own working directory,
as on several machines. The ingest and analysis outputs are byte-identical to a one-process run,
the caches land in the client's build folder (never in a worker's directory), and the reuse join
is partitioned over the workers. The cluster is stopped however the test ends (bounded waits)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.analysis.analysis import ANALYSIS_FILES, write_analysis_tables
from helpers.annotation.annotate import code_paragraphs
from helpers.corpus.corpus import ingest, load_paragraphs
from helpers.errors import CorpusError, ParameterError
from helpers.parallel import ForkRunner, Runner, can_fork, importable, runner

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).parent / "dask"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cli_cluster(tmp_path_factory):
    if not DASK.exists():
        pytest.skip("the dask command line is not installed in this environment")
    from dask.distributed import Client
    base = tmp_path_factory.mktemp("cluster")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER"}
    procs: list[subprocess.Popen] = []

    def start(args: list[str], folder: Path) -> None:
        folder.mkdir()
        log = (folder / "log.txt").open("w")
        procs.append(subprocess.Popen([str(DASK), *args], cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True))

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"], base / "scheduler")
        workers = [base / f"worker{i}" for i in (1, 2)]
        for w in workers:
            start(["worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                   "--local-directory", str(w / "dask-scratch")], w)
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    logs = {p: (p / "log.txt").read_text()[-2000:] for p in base.iterdir() if (p / "log.txt").exists()}
                    pytest.fail(f"the Dask cluster did not start: {logs}")
                time.sleep(1)
        yield address, workers
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


def _files(folder: Path, names) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in names}


def test_cli_cluster_gives_byte_identical_outputs_and_caches_where_the_client_says(cli_cluster, tmp_path: Path, monkeypatch) -> None:
    import helpers.analysis.overlap as overlap
    address, workers = cli_cluster
    # A corpus outside any worker's directory, named by a relative path from the client's directory.
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "data", corpus, ignore=shutil.ignore_patterns("annotations", "*.yml"))
    monkeypatch.chdir(tmp_path)
    local_build, cluster_build = Path("build-local"), Path("build-cluster")  # relative on purpose
    ingest(Path("corpus"), local_build, cleaning=ROOT / "data" / "cleaning.yml", organizations=ROOT / "data" / "organizations.yml")
    counts = ingest(Path("corpus"), cluster_build, cleaning=ROOT / "data" / "cleaning.yml",
                    organizations=ROOT / "data" / "organizations.yml", scheduler=address)
    assert counts["documents"] == 8
    names = ["paragraphs.parquet", "documents.csv", "cleaning.csv", "skipped.csv"]
    assert _files(cluster_build, names) == _files(local_build, names)
    assert len(list((tmp_path / cluster_build / "docs").glob("*.arrow"))) == 8  # written by the workers, here

    coding = code_paragraphs(load_paragraphs(ROOT / "data"), ROOT / "data" / "codebook.yml")
    # Small buckets, so the seed join is cut into buckets and partitions that the workers run.
    monkeypatch.setattr(overlap, "SHINGLES_PER_BUCKET", 500)
    one = write_analysis_tables(coding.paragraphs, coding.evidence, tmp_path / "reports-local", jobs=1)
    two = write_analysis_tables(coding.paragraphs, coding.evidence, tmp_path / "reports-cluster", build_dir=cluster_build,
                                scheduler=address, jobs=1)
    assert {n: p.read_bytes() for n, p in two.items()} == {n: p.read_bytes() for n, p in one.items()}
    assert set(two) == set(ANALYSIS_FILES)
    assert len(list((tmp_path / cluster_build / "shingles").glob("*.arrow"))) == 8
    for w in workers:  # nothing of ours in the workers' own directories
        assert sorted(p.name for p in w.iterdir()) == ["dask-scratch", "log.txt"]


def test_cli_cluster_runs_the_reuse_partitions_on_its_workers(cli_cluster, monkeypatch) -> None:
    import helpers.analysis.overlap as overlap
    address, _ = cli_cluster
    seen: list[str] = []
    real = overlap._chain_partition

    def where(p, *args):  # runs on a worker: record its address with the result
        from distributed import get_worker
        return get_worker().address, real(p, *args)

    p = load_paragraphs(ROOT / "data")
    body = p[p["kind"] == "body"].reset_index(drop=True)
    with runner(scheduler=address) as run:
        assert run.distributed
        order = {d: k for k, d in enumerate(overlap._document_order(body))}
        doc_rank = body["doc_id"].astype(str).map(order).to_numpy()
        monkeypatch.setattr(overlap, "_chain_partition", where)
        results = list(run.map(where, range(8), "/nonexistent", 5, 3, 12))
        seen = sorted({addr for addr, _ in results})
        monkeypatch.setattr(overlap, "_chain_partition", real)
        assert overlap.join_buckets(body, 5, run) == 16  # a cluster shares the join out even on a small corpus
        chains = overlap._joined_chains(body, doc_rank, 5, 3, 12, 100, run=run)
    assert len(seen) == 2  # both workers took partitions
    assert len(overlap._passages(body, chains, 12)) == 12


def test_cli_run_as_main_keeps_the_matcher_on_each_worker(cli_cluster, tmp_path: Path) -> None:
    # `python -m helpers.annotation.annotate` defines its functions in __main__, which Dask would
    # pickle by value: each task then rebuilt the matcher (4x the CPU) and the workers grew by copies.
    address, _ = cli_cluster
    build = tmp_path / "build"
    ingest(ROOT / "data", build, cleaning=ROOT / "data" / "cleaning.yml", organizations=ROOT / "data" / "organizations.yml")
    env = {**os.environ, "DASK_SCHEDULER": address}
    cmd = [sys.executable, "-m", "helpers.annotation.annotate", "--paragraphs", str(build / "paragraphs.parquet"),
           "--codebook", str(ROOT / "data" / "codebook.yml"), "--chunk-size", "20", "--reports"]
    done = subprocess.run(cmd + [str(tmp_path / "reports"), "--build", str(build)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    local = subprocess.run(cmd + [str(tmp_path / "local")], env={k: v for k, v in env.items() if k != "DASK_SCHEDULER"},
                           capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stderr
    assert (tmp_path / "reports" / "evidence.csv").read_bytes() == (tmp_path / "local" / "evidence.csv").read_bytes()

    def matchers() -> int:
        import sys
        module = sys.modules.get("helpers.annotation.annotate")
        return len(module._MATCHERS) if module is not None else -1

    from dask.distributed import Client
    with Client(address, timeout="10s") as client:
        assert sorted(client.run(matchers).values()) == [1, 1]  # both workers matched, each kept its one matcher


def test_importable_finds_the_function_of_a_module_run_as_main(monkeypatch) -> None:
    import importlib.util
    import types

    import helpers.corpus.text as text
    main = types.ModuleType("__main__")
    main.__spec__ = importlib.util.find_spec("helpers.corpus.text")
    monkeypatch.setitem(sys.modules, "__main__", main)

    def fold() -> None: ...

    fold.__module__, fold.__qualname__ = "__main__", "fold"
    assert importable(fold) is text.fold
    assert importable(text.fold) is text.fold
    fold.__qualname__ = "no_such_function"
    assert importable(fold) is fold
    main.__spec__ = None  # python script.py: nothing importable to point at
    fold.__qualname__ = "fold"
    assert importable(fold) is fold


def test_unreachable_scheduler_is_one_clear_message() -> None:
    port = _free_port()
    with pytest.raises(ParameterError, match=rf"DASK_SCHEDULER=tcp://127.0.0.1:{port}: cannot reach the Dask scheduler"):
        with runner(scheduler=f"tcp://127.0.0.1:{port}"):
            pass


# --------------------------------------------------------------------------- forked processes (no Dask)

def _square_or_fail(item: int, offset: int) -> tuple[int, int]:
    if item == 7:
        raise CorpusError("item 7 is bad")
    return item * item + offset, os.getpid()


def _die(item: int) -> int:
    os._exit(3)  # a process killed mid-task (as by the out-of-memory killer)


@pytest.mark.skipif(not can_fork(), reason="forked processes only where the system forks safely (Linux)")
def test_forked_processes_give_results_in_input_order_from_other_processes() -> None:
    with runner(1, None, processes=2) as run:
        assert isinstance(run, ForkRunner)
        out = list(run.map(_square_or_fail, range(6), 10))
    assert [v for v, _ in out] == [10, 11, 14, 19, 26, 35]
    assert os.getpid() not in {pid for _, pid in out} and len({pid for _, pid in out}) <= 2


@pytest.mark.skipif(not can_fork(), reason="forked processes only where the system forks safely (Linux)")
def test_an_error_in_a_forked_process_is_raised_here_unchanged_and_a_killed_one_is_named() -> None:
    with runner(1, None, processes=2) as run:
        with pytest.raises(CorpusError, match=r"^item 7 is bad$"):
            list(run.map(_square_or_fail, range(10), 0))
        with pytest.raises(ParameterError, match=r"a forked process of _die died \(killed, out of memory\?\)\. Run again with JOBS=1"):
            list(run.map(_die, range(3)))


def test_one_process_or_a_scheduler_never_forks(monkeypatch) -> None:
    monkeypatch.delenv("DASK_SCHEDULER", raising=False)
    with runner(1, None, processes=1) as run:
        assert type(run) is Runner
    with runner(0, None) as run:
        assert type(run) is Runner


@pytest.mark.skipif(not can_fork(), reason="forked processes only where the system forks safely (Linux)")
def test_a_cold_ingest_in_two_forked_processes_writes_the_same_bytes(tmp_path: Path) -> None:
    names = ("paragraphs.parquet", "documents.csv", "cleaning.csv", "skipped.csv")
    one, two = tmp_path / "one", tmp_path / "two"
    assert ingest(ROOT / "data", one) == ingest(ROOT / "data", two, processes=2)
    assert _files(one, names) == _files(two, names)
    # Again on the last run's table: documents come from it (no forks), same bytes.
    assert ingest(ROOT / "data", two, processes=2)["cached"] == 8
    assert _files(one, names) == _files(two, names)


@pytest.mark.skipif(not can_fork(), reason="forked processes only where the system forks safely (Linux)")
def test_annotation_matched_in_two_forked_processes_writes_the_same_bytes(tmp_path: Path) -> None:
    from helpers.annotation.annotate import annotate_corpus

    ingest(ROOT / "data", tmp_path / "build")
    names = ("annotated_paragraphs.csv", "annotations.csv", "evidence.csv")
    for processes, reports in ((1, "one"), (2, "two")):
        shutil.rmtree(tmp_path / "build" / "annotations", ignore_errors=True)  # matched afresh, not read from the cache
        summary = annotate_corpus(None, ROOT / "data" / "codebook.yml", tmp_path / reports, build_dir=tmp_path / "build",
                                  chunk_size=20, processes=processes)
        assert summary.n_cached == 0 and summary.n_documents == 8
    assert _files(tmp_path / "one", names) == _files(tmp_path / "two", names)
    assert len(list((tmp_path / "build" / "annotations").glob("*@*.arrow"))) == 8  # the cache, written by this process
