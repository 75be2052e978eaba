//! What the page and its workers say to each other, and nothing else; compiled natively too, so
//! its rules are tested and fuzzed under `cargo test`.
//!
//! ```text
//! page (src/web/page: components, charts, race, flows)
//!   └─ services (src/web/services: starts, asks and cancels the workers)
//!        └─ transport (src/web/transport: a Message as JS arrays)  ─┐
//! workers (src/web/workers: data + GPU, training, scoring)  ────────┴─ protocol (this module)
//! ```
//! Page and workers share only this module (through the transport); neither imports the other.

pub mod frame;
pub mod requests;
pub mod views;

pub use frame::Message;
pub use requests::{
    DataReply, DataRequest, Reply, Request, RowRef, ScoreReply, ScoreRequest, TrainReply,
    TrainRequest,
};
pub use views::{
    Choice, ColumnView, DataView, GpuAdapter, GpuTiming, Outcome, PreparedSplit, RowShown,
};

/// Most f32 values (256 MB) of rows the page takes. Its memory (wasm32, 4 GiB at most) holds
/// the rows several times over: more is refused up front, not died of mid-run.
pub const MAX_VALUES: usize = 64 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::Params;

    fn back<T: serde::Serialize + for<'a> serde::Deserialize<'a>>(v: &T) -> T {
        frame::from_header(&frame::to_header(v), "test").unwrap()
    }

    #[test]
    fn every_request_survives_its_header() {
        let reqs = [
            Request::Train(TrainRequest::Grow {
                params: Params::default(),
                trees: 3..7,
                data: "{}".into(),
            }),
            Request::Score(ScoreRequest::Load {
                forest: "{}".into(),
            }),
            Request::Score(ScoreRequest::Score {
                id: 4,
                values: 10..20,
            }),
            Request::Score(ScoreRequest::Explain {
                id: 5,
                values: 0..8,
            }),
            Request::Data(DataRequest::Row {
                reader: crate::model::Reader {
                    schema: crate::data::Schema::numbered(
                        "y",
                        &crate::data::synth::classification(4, 2, 1, 2, 0),
                    ),
                    by_position: false,
                    id_columns: vec!["patient".into()],
                    threshold: Some(0.3),
                    split: Some(crate::model::SplitRule {
                        seed: 7,
                        test_fraction: 0.2,
                        stratified: false,
                        group: Some("patient".into()),
                        fingerprint: "0123456789abcdef".into(),
                    }),
                },
                row: RowRef::Id("p-7".into()),
            }),
            Request::Data(DataRequest::GpuExplain { model: 3 }),
            Request::Data(DataRequest::Read {
                name: "a.csv".into(),
            }),
            Request::Data(DataRequest::Generate {
                rows: 9,
                features: 2,
                seed: 1,
            }),
            Request::Data(DataRequest::Prepare {
                choice: Choice {
                    target: "y".into(),
                    task: None,
                    params: Params::default(),
                    drop: vec!["id".into()],
                    keep: vec![],
                    group: crate::pipeline::Group::Column("patient".into()),
                    test_fraction: 0.1,
                },
                copies: 3,
            }),
            Request::Data(DataRequest::GpuOpen),
            Request::Data(DataRequest::GpuLoad {
                model: 2,
                forest: "{}".into(),
            }),
            Request::Data(DataRequest::GpuTuned { rows: 100 }),
            Request::Data(DataRequest::GpuTime { model: 2 }),
            Request::Data(DataRequest::GpuVariants { model: 2 }),
            Request::Data(DataRequest::GpuParts {
                model: 2,
                parts: vec![1, 4],
            }),
            Request::CancelGpu,
        ];
        for r in &reqs {
            assert_eq!(&back(r), r);
        }
    }

    #[test]
    fn every_reply_survives_its_header() {
        let timing = GpuTiming {
            e2e_ms: 2.0,
            kernel_ms: Some(0.5),
            resident_ms: 1.0,
            resident_kernel_ms: None,
            kernel_dropped: true,
            variant: "fil".into(),
            phases: Default::default(),
        };
        let data = [
            DataReply::Rows {
                view: DataView {
                    name: "a".into(),
                    rows: 2,
                    headers: vec!["x".into()],
                    preview: vec![vec!["1".into()]],
                    columns: vec![],
                    detected: vec![crate::data::Task::Regression],
                },
                note: Some("converted".into()),
            },
            DataReply::Bytes,
            DataReply::GpuOpened {
                adapter: GpuAdapter {
                    name: "g".into(),
                    timestamps: true,
                    software: true,
                },
            },
            DataReply::GpuLoaded,
            DataReply::GpuTuned { tuned: false },
            DataReply::GpuTimed { timing },
            DataReply::GpuLines {
                lines: vec![serde_json::json!({"a": 1})],
            },
            DataReply::GpuLost {
                why: "reset".into(),
            },
            DataReply::Row {
                row: RowShown {
                    index: 4,
                    id: Some("p-7".into()),
                    cells: vec!["male".into(), "".into()],
                },
            },
            DataReply::GpuExplained { ms: 12.5 },
        ];
        for r in data {
            let r = Reply::Answer(r);
            assert_eq!(back(&r), r);
        }
        for r in [
            Reply::Answer(TrainReply::Tree),
            Reply::Answer(TrainReply::Grown { shard: "{}".into() }),
            Reply::Ready,
            Reply::Failed {
                message: "no".into(),
            },
        ] {
            assert_eq!(back(&r), r);
        }
        for r in [
            ScoreReply::Scored { id: 1, ms: 0.25 },
            ScoreReply::Explained { id: 2, ms: 9.0 },
        ] {
            let r = Reply::Answer(r);
            assert_eq!(back(&r), r);
        }
        // A worker's failure reads the same whatever kind of worker the page expected.
        let failed = frame::to_header(&Reply::<TrainReply>::Failed {
            message: "x".into(),
        });
        assert_eq!(
            frame::from_header::<Reply<DataReply>>(&failed, "t").unwrap(),
            Reply::Failed {
                message: "x".into()
            }
        );
    }

    #[test]
    fn a_reply_of_another_kind_is_an_error_not_a_guess() {
        let scored = frame::to_header(&Reply::Answer(ScoreReply::Scored { id: 1, ms: 1.0 }));
        let e = frame::from_header::<Reply<TrainReply>>(&scored, "training reply").unwrap_err();
        assert!(e.to_string().contains("unreadable training reply"), "{e}");
    }

    #[test]
    fn a_kernel_time_longer_than_its_run_is_dropped_and_said() {
        let mut t = GpuTiming {
            e2e_ms: 1180.0,
            kernel_ms: Some(900.0),
            resident_ms: 910.0,
            resident_kernel_ms: Some(1180.0),
            kernel_dropped: false,
            variant: "fil".into(),
            phases: Default::default(),
        };
        t.keep_kernel_within_runs();
        assert_eq!(
            (t.kernel_ms, t.resident_kernel_ms, t.kernel_dropped),
            (Some(900.0), None, true)
        );
        let mut ok = GpuTiming {
            resident_kernel_ms: Some(3.0),
            kernel_dropped: false,
            ..t
        };
        ok.kernel_ms = Some(3.0);
        ok.keep_kernel_within_runs();
        assert!(!ok.kernel_dropped);
    }

    #[test]
    fn a_software_adapter_is_named_as_one() {
        let a = GpuAdapter {
            name: "google · swiftshader".into(),
            timestamps: true,
            software: true,
        };
        assert_eq!(
            a.label(),
            "software GPU (google · swiftshader): not this machine's graphics card"
        );
        let h = GpuAdapter {
            software: false,
            name: "nvidia · hopper".into(),
            ..a
        };
        assert_eq!(h.label(), "nvidia · hopper");
    }
}
