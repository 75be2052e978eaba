#!/usr/bin/env python3
"""Reading a CSV, side by side: `forest train --trees 1` against pandas, pyarrow and polars.

Three files, written once into --dir (seeded, so every run reads the same bytes):
- numeric-100k: 100k rows x 33 columns (32 features, a 0/1 target), `%.9g`;
- numeric-300k: 300k rows x 30 columns, `%.6g`;
- mixed-100k: 100k rows, `;` separators and decimal commas, text categories, missing cells
  (several spellings), a numeric column with stray words, a whole-number ID with leading zeros.
For each file: the median wall time of --runs runs of each reader, after one warm-up. Ours is
the whole `forest train --trees 1 --max-depth 2` (read, type, split, encode, one shallow tree:
its training is a few milliseconds of it), so the comparison is not in our favour. Thread counts:
ours and polars/pyarrow use every core (--threads limits ours and polars' through
RAYON_NUM_THREADS and POLARS_MAX_THREADS), pandas' C parser uses one.

With --train, also the whole `forest train` of 200 trees of depth 12 on numeric-100k: its wall
time against the training time it reports (`train_seconds`), before and after.
pyarrow reads decimal commas as text (it has no such option); the others parse them.

Needs: pip install pandas pyarrow polars (a missing one is left out of the table)
Usage: python3 scripts/csv_bench.py [--forest target/release/forest] [--old OTHER_FOREST]
       [--runs 5] [--dir /tmp/csv_bench] [--threads N] [--train]
"""
import argparse, json, os, platform, random, statistics, subprocess, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_numeric(path, rows, cols, fmt, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write(",".join([f"f{i}" for i in range(cols - 1)] + ["y"]) + "\n")
        for _ in range(rows):
            v = [rng.gauss(0, 1) for _ in range(cols - 1)]
            f.write(",".join(fmt % x for x in v) + f",{int(v[0] + v[1] > 0)}\n")


def write_mixed(path, rows, seed):
    rng = random.Random(seed)
    wards = ["cardiology", "oncology", "general", "icu", "maternity", "\"east; annex\""]
    with open(path, "w") as f:
        f.write("id;ward;kind;age;creatinine;score;glucose;lactate;los;readmitted\n")
        for i in range(rows):
            creat = f"{rng.gauss(1.1, 0.4):.2f}".replace(".", ",") if rng.random() > 0.05 else rng.choice(["", "NA", "?"])
            score = str(rng.randint(0, 40)) if rng.random() > 0.01 else "high"
            f.write(";".join([
                f"{i:07d}", rng.choice(wards), rng.choice(["emergency", "elective", "transfer"]),
                str(rng.randint(18, 95)), creat, score,
                f"{rng.gauss(6, 2):.3f}".replace(".", ","), f"{rng.gauss(2, 1):.4f}".replace(".", ","),
                f"{max(0.5, rng.gauss(4, 2)):.2f}".replace(".", ","), rng.choice(["yes", "no", "no", "no"]),
            ]) + "\n")


def median_s(f, runs):
    f()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--forest", default=os.path.join(ROOT, "target/release/forest"))
    ap.add_argument("--old", help="another forest binary, timed beside (e.g. before a change)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/csv_bench")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--train", action="store_true")
    a = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(a.threads)
    os.environ["POLARS_MAX_THREADS"] = str(a.threads)
    import importlib  # after the thread settings

    def have(name):
        try:
            return importlib.import_module(name)
        except ImportError:
            return None

    pd, pl, pacsv = have("pandas"), have("polars"), have("pyarrow.csv")

    os.makedirs(a.dir, exist_ok=True)
    files = {
        "numeric-100k": (lambda p: write_numeric(p, 100_000, 33, "%.9g", 1), "y", ","),
        "numeric-300k": (lambda p: write_numeric(p, 300_000, 30, "%.6g", 2), "y", ","),
        "mixed-100k": (lambda p: write_mixed(p, 100_000, 3), "readmitted", ";"),
    }
    print(f"machine: {platform.node()}, {os.cpu_count()} cores; threads: ours {a.threads}, "
          f"polars {a.threads}, pyarrow all, pandas 1; medians of {a.runs} runs\n")
    peers = [(n, m) for n, m in [("pandas", pd), ("pyarrow", pacsv), ("polars", pl)] if m]
    cols = ["forest train --trees 1"] + (["old forest"] if a.old else []) + [n for n, _ in peers]
    print("| file | MB | " + " | ".join(cols) + (" | ours / pandas |" if pd else " |"))
    print("|---|---:|" + "---:|" * (len(cols) + (1 if pd else 0)))
    for name, (make, target, sep) in files.items():
        path = os.path.join(a.dir, name + ".csv")
        if not os.path.exists(path):
            make(path)
        mb = os.path.getsize(path) / 1e6

        def ours(binary):
            return lambda: subprocess.run(
                [binary, "train", "--csv", path, "--target", target, "--trees", "1", "--max-depth", "2"],
                check=True, stdout=subprocess.DEVNULL)

        decimal = "," if sep == ";" else "."
        read = {
            "pandas": lambda: pd.read_csv(path, sep=sep, decimal=decimal),
            "pyarrow": lambda: pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=sep)),
            "polars": lambda: pl.read_csv(path, separator=sep, decimal_comma=sep == ";",
                                          infer_schema_length=10000),
        }
        timed = [median_s(ours(a.forest), a.runs)]
        if a.old:
            timed.append(median_s(ours(a.old), a.runs))
        timed += [median_s(read[n], a.runs) for n, _ in peers]
        line = f"| {name} | {mb:.0f} | " + " | ".join(f"{t:.3f} s" for t in timed)
        if pd:
            line += f" | {timed[0] / timed[len(timed) - len(peers)]:.1f}x"
        print(line + " |")
    if a.train:
        path = os.path.join(a.dir, "numeric-100k.csv")
        print("\n| forest train --trees 200 --max-depth 12, numeric-100k | wall | training | wall / training |")
        print("|---|---:|---:|---:|")
        for label, binary in [("this forest", a.forest)] + ([("old forest", a.old)] if a.old else []):
            walls, trains = [], []
            for _ in range(a.runs):
                t = time.perf_counter()
                out = subprocess.run([binary, "train", "--csv", path, "--target", "y", "--trees", "200",
                                      "--max-depth", "12", "--json"], check=True, capture_output=True, text=True)
                walls.append(time.perf_counter() - t)
                trains.append(json.loads(out.stdout)["train_seconds"])
            w, tr = statistics.median(walls), statistics.median(trains)
            print(f"| {label} | {w:.2f} s | {tr:.2f} s | {w / tr:.2f}x |")


if __name__ == "__main__":
    main()
