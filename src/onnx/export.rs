//! Writing this program's forests as ONNX (`ai.onnx.ml` opset 3): a TreeEnsembleClassifier
//! (label and a probability tensor, no ZipMap) or a TreeEnsembleRegressor, on one float input
//! of the model's features in order.
//!
//! Every split is `BRANCH_LEQ` on the layout's own threshold, with its missing direction as the
//! missing-value track. The averaging over trees is ONNX's: `AVERAGE` for a regressor, and
//! leaf weights of `p / n_trees` for a classifier (which always sums). A binary classifier's
//! weights are on class id 0 only, which ONNX Runtime turns into `[1 - s, s]`, as ours.

use super::proto::*;
use crate::data::Schema;
use crate::data::{FeatureKind, Task};
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use crate::flat::Head;
use prost::Message;

fn attr_ints(name: &str, v: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v,
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

fn attr_floats(name: &str, v: Vec<f32>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        floats: v,
        r#type: attribute_type::FLOATS,
        ..Default::default()
    }
}

fn attr_strings(name: &str, v: Vec<String>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        strings: v.into_iter().map(String::into_bytes).collect(),
        r#type: attribute_type::STRINGS,
        ..Default::default()
    }
}

fn attr_string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: v.as_bytes().to_vec(),
        r#type: attribute_type::STRING,
        ..Default::default()
    }
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: v,
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

fn tensor_info(name: &str, elem_type: i32, dims: &[Option<i64>]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorType {
                elem_type,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            dim_value: *d,
                            dim_param: d.is_none().then(|| "N".to_string()),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

/// The ONNX file of forest `f`, which reads the columns of `schema`.
pub fn export(schema: &Schema, f: &FlatForest) -> Result<Vec<u8>> {
    if f.head != Head::own(f.n_outputs) {
        return Err(Error::InvalidParam(
            "this model was imported from ONNX: its own file is the ONNX model".into(),
        ));
    }
    if let Some(c) = schema
        .features
        .iter()
        .find(|c| matches!(c.kind, FeatureKind::Categorical { .. }))
    {
        return Err(Error::InvalidParam(format!(
            "column {} is text (category codes); an ONNX tree ensemble reads numbers only, so \
             only models of numeric columns are exported",
            c.name
        )));
    }
    let classifier = schema.task == Task::Classification;
    let n_trees = f.n_trees();
    let inv = 1.0 / n_trees as f32;
    let lw = f.leaf_width();
    let (mut tree, mut id, mut feat, mut vals, mut modes) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut yes, mut no, mut missing) = (vec![], vec![], vec![]);
    let (mut w_tree, mut w_node, mut w_id, mut w) = (vec![], vec![], vec![], vec![]);
    for t in 0..n_trees {
        let root = f.roots[t] as usize;
        let end = f.roots.get(t + 1).map_or(f.n_nodes(), |&r| r as usize);
        for i in root..end {
            let n = f.node(i);
            let local = (i - root) as i64;
            tree.push(t as i64);
            id.push(local);
            if n.is_leaf() {
                feat.push(0);
                vals.push(0.0);
                modes.push("LEAF".to_string());
                yes.push(0);
                no.push(0);
                missing.push(0);
                let leaf: Vec<(i64, f32)> = if lw == 1 {
                    let v = f32::from_bits(n.value);
                    vec![(0, if classifier { v * inv } else { v })]
                } else {
                    let at = n.value as usize;
                    f.leaf_values[at..at + lw]
                        .iter()
                        .enumerate()
                        .map(|(k, &p)| (k as i64, p * inv))
                        .collect()
                };
                for (k, v) in leaf {
                    w_tree.push(t as i64);
                    w_node.push(local);
                    w_id.push(k);
                    w.push(v);
                }
            } else {
                feat.push(i64::from(n.feature));
                vals.push(n.threshold());
                modes.push("BRANCH_LEQ".to_string());
                yes.push(local + 1);
                no.push(local + i64::from(n.far));
                missing.push(i64::from(n.missing_left));
            }
        }
    }
    let mut attrs = vec![
        attr_ints("nodes_treeids", tree),
        attr_ints("nodes_nodeids", id),
        attr_ints("nodes_featureids", feat),
        attr_floats("nodes_values", vals),
        attr_strings("nodes_modes", modes),
        attr_ints("nodes_truenodeids", yes),
        attr_ints("nodes_falsenodeids", no),
        attr_ints("nodes_missing_value_tracks_true", missing),
        attr_string("post_transform", "NONE"),
    ];
    let nf = i64::from(f.n_features);
    let input = tensor_info("input", data_type::FLOAT, &[None, Some(nf)]);
    let (op, outputs, outs) = if classifier {
        let classes = &schema.classes;
        let ints: Option<Vec<i64>> = classes.iter().map(|c| c.parse().ok()).collect();
        let label_type = if ints.is_some() {
            data_type::INT64
        } else {
            data_type::STRING
        };
        match ints {
            Some(v) => attrs.push(attr_ints("classlabels_int64s", v)),
            None => attrs.push(attr_strings("classlabels_strings", classes.clone())),
        }
        attrs.extend([
            attr_ints("class_treeids", w_tree),
            attr_ints("class_nodeids", w_node),
            attr_ints("class_ids", w_id),
            attr_floats("class_weights", w),
        ]);
        (
            "TreeEnsembleClassifier",
            vec!["label".to_string(), "probabilities".to_string()],
            vec![
                tensor_info("label", label_type, &[None]),
                tensor_info(
                    "probabilities",
                    data_type::FLOAT,
                    &[None, Some(classes.len() as i64)],
                ),
            ],
        )
    } else {
        attrs.extend([
            attr_ints("target_treeids", w_tree),
            attr_ints("target_nodeids", w_node),
            attr_ints("target_ids", w_id),
            attr_floats("target_weights", w),
            attr_int("n_targets", 1),
            attr_string("aggregate_function", "AVERAGE"),
        ]);
        (
            "TreeEnsembleRegressor",
            vec!["variable".to_string()],
            vec![tensor_info("variable", data_type::FLOAT, &[None, Some(1)])],
        )
    };
    let node = NodeProto {
        input: vec!["input".into()],
        output: outputs,
        name: "forest".into(),
        op_type: op.into(),
        attribute: attrs,
        domain: "ai.onnx.ml".into(),
    };
    let m = ModelProto {
        ir_version: 8,
        producer_name: "gpuforest".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: String::new(),
        model_version: 1,
        doc_string: format!(
            "A random forest of {n_trees} trees predicting \"{}\". Input columns in order: {}.",
            schema.target,
            schema.feature_names().join(", ")
        ),
        graph: Some(GraphProto {
            node: vec![node],
            name: "gpuforest".into(),
            initializer: Vec::new(),
            input: vec![input],
            output: outs,
        }),
        opset_import: vec![
            OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            },
            OperatorSetIdProto {
                domain: "ai.onnx.ml".into(),
                version: 3,
            },
        ],
    };
    Ok(m.encode_to_vec())
}
