//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz targets'
//! code, so every input the fuzzers kept, crashes found and fixed among them, stays a test.
//! `cargo test --test fuzz_corpus -- --ignored write_seeds` writes the seed inputs.

use gpuforest::data::{Dataset, read_table, synth};
use gpuforest::forest::Params;
use gpuforest::fuzz;
use gpuforest::pipeline::{TrainOptions, prepare, train};
use gpuforest::protocol::frame::{Message, encode_dataset, encode_shard};
use gpuforest::tree_shards::grow;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| run(&bytes));
        assert!(r.is_ok(), "{} panics", path.display());
        n += 1;
    }
    // The seeds alone are more than this: an empty or lost corpus fails.
    assert!(n >= 5, "{}: only {n} inputs", dir.display());
}

#[test]
fn csv_corpus() {
    replay("csv", fuzz::csv);
}

#[test]
fn model_json_corpus() {
    replay("model_json", fuzz::model_json);
}

#[test]
fn onnx_model_corpus() {
    replay("onnx_model", fuzz::onnx_model);
}

#[test]
fn worker_message_corpus() {
    replay("worker_message", fuzz::worker_message);
}

/// The worker-message target's framing of `m` (see `fuzz::worker_message`).
fn framed(m: &Message) -> Vec<u8> {
    let mut out = vec![m.buffers.len() as u8];
    out.extend((m.header.len() as u16).to_le_bytes());
    out.extend(m.header.as_bytes());
    for b in &m.buffers {
        out.extend((b.len() as u32).to_le_bytes());
        out.extend(b);
    }
    out
}

#[test]
#[ignore = "writes the seed corpus; run by hand"]
fn write_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let small = |params: Params, csv: &str, target: &str| {
        let table = read_table(csv.as_bytes()).unwrap();
        let opts = TrainOptions {
            target: target.into(),
            task: None,
            params,
            test_fraction: 0.25,
            stratify: true,
            columns: Default::default(),
        };
        train(&prepare(&table, &opts).unwrap(), &opts.params, &|| {}).unwrap()
    };
    let p = |trees, depth| Params {
        n_trees: trees,
        max_depth: Some(depth),
        ..Params::default()
    };
    let head = |path: &str, lines: usize| {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().take(lines).collect::<Vec<_>>().join("\n") + "\n"
    };
    let csvs = [
        ("breast_cancer.csv", head("assets/breast_cancer.csv", 40)),
        ("diabetes.csv", head("assets/diabetes.csv", 40)),
        (
            "mixed.csv",
            "age;ward;score;outcome\n61;A;1,5;yes\n45;B;NA;no\n70;A;2,25;yes\n33;C;0,5;no\n52;B;1;yes\n48;\"C;x\";?;no\n66;A;3;yes\n29;B;0;no\n".into(),
        ),
        (
            "quoted.csv",
            "\u{feff}\"name, full\",value\r\n\"a \"\"b\"\"\",1e3\r\nc,-inf\r\nd,\r\ne,2.5\r\nf,oops\r\n".into(),
        ),
        (
            "classes.csv",
            (0..60).map(|i| format!("{},{},{}\n", i % 7, (i * 13) % 11, ["a", "b", "c"][i % 3])).fold("x,y,label\n".to_string(), |a, l| a + &l),
        ),
    ];
    for (name, text) in &csvs {
        write("csv", name, text.as_bytes());
    }
    let models = [
        ("binary.json", small(p(3, 3), &csvs[0].1, "diagnosis")),
        ("regression.json", small(p(3, 3), &csvs[1].1, "progression")),
        ("classes.json", small(p(3, 4), &csvs[4].1, "label")),
        ("mixed.json", small(p(2, 3), &csvs[2].1, "outcome")),
        ("deep.json", small(p(2, 30), &csvs[0].1, "diagnosis")),
    ];
    for (name, m) in &models {
        write("model_json", name, m.to_json().as_bytes());
    }
    let d: Dataset = synth::classification(40, 4, 2, 3, 1);
    write(
        "worker_message",
        "dataset.bin",
        &framed(&encode_dataset(&d)),
    );
    let r = synth::regression(40, 3, 2, 0.1, 1);
    write(
        "worker_message",
        "dataset_regression.bin",
        &framed(&encode_dataset(&r)),
    );
    for (i, (data, trees)) in [(&d, 0..2), (&r, 1..3), (&d, 0..1)].into_iter().enumerate() {
        let s = grow(data, None, &p(3, 3), trees, &|| {}).unwrap();
        write(
            "worker_message",
            &format!("shard{i}.bin"),
            &framed(&encode_shard(&s)),
        );
    }
}
