//! Reading an ONNX tree ensemble into a flat forest and a schema ([`Imported`]): the graph
//! around it, its attributes, and the output rule ONNX Runtime applies, as a [`Head`].

use super::ensemble::{Ensemble, Mode, Node};
use super::proto::{self, AttributeProto, GraphProto, NodeProto, attribute_type, data_type};
use crate::data::{FeatureKind, FeatureSpec, Schema, Task};
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use crate::flat::{Head, Pair, Post};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// Most classes or targets an imported model may have.
pub const MAX_OUTPUTS: usize = 4096;
/// Most features an imported model may read.
pub const MAX_FEATURES: usize = 1 << 16;
/// Most nodes an imported forest may take once flattened.
pub const MAX_NODES: usize = 1 << 26;

/// An ONNX file's forest, with a schema that names its inputs and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub schema: Schema,
    pub forest: FlatForest,
    pub origin: Origin,
}

/// What an imported model was, for people to read (kept in the model file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// `onnx`.
    pub format: String,
    /// The ensemble's operator: `TreeEnsembleClassifier`, `TreeEnsembleRegressor` or
    /// `TreeEnsemble`.
    pub op: String,
    /// The converter that wrote the file, with its version, when it says.
    pub producer: String,
}

fn bad(m: impl Into<String>) -> Error {
    Error::BadModel(m.into())
}

/// The forest in ONNX file `bytes`.
pub fn import(bytes: &[u8]) -> Result<Imported> {
    let m = proto::decode_model(bytes).map_err(|e| {
        bad(format!(
            "not an ONNX model (the protobuf does not decode: {e})"
        ))
    })?;
    let g = m
        .graph
        .as_ref()
        .ok_or_else(|| bad("not an ONNX model: it has no graph"))?;
    let found: Vec<&NodeProto> = g
        .node
        .iter()
        .filter(|n| n.domain == "ai.onnx.ml" && ENSEMBLES.contains(&n.op_type.as_str()))
        .collect();
    let (parsed, head, n_outputs, graph, op) = match found.as_slice() {
        [] => {
            return Err(bad(
                "the ONNX graph has no tree ensemble (TreeEnsembleClassifier, \
                 TreeEnsembleRegressor or TreeEnsemble of ai.onnx.ml)",
            ));
        }
        [ens] => {
            let graph = Graph::check(g, ens)?;
            let attrs = Attrs::of(ens)?;
            let parsed = match ens.op_type.as_str() {
                "TreeEnsemble" => attrs.opset5()?,
                _ => attrs.opset3(ens.op_type == "TreeEnsembleClassifier")?,
            };
            let (head, n_outputs) = head_of(&parsed, graph.post)?;
            (parsed, head, n_outputs, graph, ens.op_type.clone())
        }
        many => {
            let (parsed, head, n_outputs, graph) = spark_gbt(g, many).map_err(|why| {
                bad(format!(
                    "the ONNX graph has {} tree ensembles; this program scores one, or Spark's \
                     gradient-boosted trees (one ensemble a tree, summed by Concat and MatMul): \
                     {why}",
                    many.len()
                ))
            })?;
            (
                parsed,
                head,
                n_outputs,
                graph,
                "TreeEnsembleRegressor x {} (Spark GBT)".replace("{}", &many.len().to_string()),
            )
        }
    };
    let n_features = graph
        .n_features
        .unwrap_or(parsed.max_feature.map_or(1, |f| f as usize + 1));
    if n_features > MAX_FEATURES {
        return Err(bad(format!(
            "{n_features} input features; at most {MAX_FEATURES}"
        )));
    }
    if let Some(f) = parsed.max_feature.filter(|&f| f as usize >= n_features) {
        return Err(bad(format!(
            "a split reads feature {f}, but the input has {n_features}"
        )));
    }
    let forest = parsed
        .ensemble
        .flatten(n_features, n_outputs, head, MAX_NODES)
        .map_err(|e| bad(format!("{op}: {e}")))?;
    let task = if parsed.labels.is_some() {
        Task::Classification
    } else {
        Task::Regression
    };
    let schema = Schema {
        target: graph.output_name,
        task,
        features: (0..n_features)
            .map(|i| FeatureSpec {
                name: format!("{}[{i}]", graph.input_name),
                kind: FeatureKind::Numeric,
            })
            .collect(),
        classes: parsed.labels.unwrap_or_default(),
    };
    let producer = match (m.producer_name.as_str(), m.producer_version.as_str()) {
        ("", _) => "unknown".to_string(),
        (n, "") => n.to_string(),
        (n, v) => format!("{n} {v}"),
    };
    Ok(Imported {
        schema,
        forest,
        origin: Origin {
            format: "onnx".into(),
            op,
            producer,
        },
    })
}

const ENSEMBLES: [&str; 3] = [
    "TreeEnsembleClassifier",
    "TreeEnsembleRegressor",
    "TreeEnsemble",
];

/// What the graph around the ensemble adds: where its input comes from, and a final sigmoid or
/// softmax a converter put after it.
struct Graph {
    input_name: String,
    output_name: String,
    n_features: Option<usize>,
    /// A Sigmoid or Softmax node on the ensemble's scores.
    post: Option<Post>,
}

impl Graph {
    fn check(g: &GraphProto, ens: &NodeProto) -> Result<Graph> {
        let ens_in = ens
            .input
            .first()
            .ok_or_else(|| bad(format!("{} has no input", ens.op_type)))?;
        // Names that carry the ensemble's input (back to the graph's) and its scores forward.
        let producer: HashMap<&str, &NodeProto> = g
            .node
            .iter()
            .flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n)))
            .collect();
        let (input, n_features) = graph_input(g, &producer, ens_in)?;

        // Every other node must be one that changes nothing or a final transform of the scores.
        let scores = if ens.op_type == "TreeEnsembleClassifier" {
            ens.output.get(1)
        } else {
            ens.output.first()
        };
        let mut on_scores: BTreeSet<&str> = scores.map(|s| s.as_str()).into_iter().collect();
        let mut post = None;
        let initial: HashMap<&str, &proto::TensorProto> =
            g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
        for n in &g.node {
            if std::ptr::eq(n, ens) {
                continue;
            }
            let from_scores = n
                .input
                .first()
                .is_some_and(|i| on_scores.contains(i.as_str()));
            let carry = match n.op_type.as_str() {
                "Identity" | "Cast" | "ZipMap" => true,
                "Mul" | "Div" if is_one(n.input.get(1).and_then(|i| initial.get(i.as_str()))) => {
                    true
                }
                "Sigmoid" | "Softmax" if from_scores && post.is_none() => {
                    post = Some(if n.op_type == "Sigmoid" {
                        Post::Logistic
                    } else {
                        Post::Softmax
                    });
                    true
                }
                op => {
                    let domain = if n.domain.is_empty() {
                        "ai.onnx"
                    } else {
                        &n.domain
                    };
                    return Err(bad(format!(
                        "the graph has a {op} node ({domain}) besides the ensemble; this program \
                         scores the ensemble alone, with Identity, Cast, ZipMap, a multiplication \
                         by 1 or a final Sigmoid or Softmax around it"
                    )));
                }
            };
            if carry && from_scores {
                on_scores.extend(n.output.iter().map(|s| s.as_str()));
            }
        }
        let output_name = g
            .output
            .iter()
            .find(|o| on_scores.contains(o.name.as_str()))
            .or(g.output.first())
            .map_or_else(|| "output".to_string(), |o| o.name.clone());
        Ok(Graph {
            input_name: input.to_string(),
            output_name,
            n_features,
            post,
        })
    }
}

/// The graph input that `name` comes from (through Identity and Cast nodes), and its feature
/// count where its shape gives one.
fn graph_input<'g>(
    g: &'g GraphProto,
    producer: &HashMap<&str, &'g NodeProto>,
    name: &'g str,
) -> Result<(&'g str, Option<usize>)> {
    let mut input = name;
    while let Some(n) = producer.get(input) {
        match n.op_type.as_str() {
            "Identity" | "Cast" => input = n.input.first().map_or("", |s| s.as_str()),
            op => {
                return Err(bad(format!(
                    "the ensemble's input comes from a {op} node; this program feeds the \
                     CSV's numbers straight to the ensemble (Identity and Cast may come \
                     between)"
                )));
            }
        }
    }
    let graph_input = g
        .input
        .iter()
        .find(|i| i.name == input)
        .ok_or_else(|| bad(format!("the ensemble's input {input} is not a graph input")))?;
    let tensor = graph_input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref());
    if let Some(t) = tensor
        && !matches!(t.elem_type, data_type::FLOAT | data_type::DOUBLE | 0)
    {
        {
            return Err(bad(format!(
                "the input {input} has element type {}; this program reads float inputs",
                t.elem_type
            )));
        }
    }
    let dims = tensor.and_then(|t| t.shape.as_ref()).map(|s| &s.dim[..]);
    let n_features = match dims {
        Some([_, d]) => d.dim_value.filter(|&v| v > 0).map(|v| v as usize),
        Some([d]) if d.dim_value.is_some() => {
            return Err(bad(format!(
                "the input {input} is one row, not a batch of rows"
            )));
        }
        Some(d) if d.len() > 2 => {
            return Err(bad(format!(
                "the input {input} has {} dimensions; this program reads rows of numbers (2)",
                d.len()
            )));
        }
        _ => None,
    };
    Ok((input, n_features))
}

/// A scalar initializer equal to 1 (converters multiply by it to rename an output).
fn is_one(t: Option<&&proto::TensorProto>) -> bool {
    t.and_then(|t| tensor_f64(t).ok())
        .is_some_and(|v| v.len() == 1 && v[0] == 1.0)
}

/// The numbers of a float, double or integer tensor.
fn tensor_f64(t: &proto::TensorProto) -> std::result::Result<Vec<f64>, String> {
    if t.data_location == 1 {
        return Err(format!("tensor {} is stored in another file", t.name));
    }
    let raw = &t.raw_data;
    let from_raw = |size: usize| -> std::result::Result<(), String> {
        if !raw.len().is_multiple_of(size) {
            return Err(format!("tensor {}: raw data is not whole elements", t.name));
        }
        Ok(())
    };
    Ok(match t.data_type {
        data_type::FLOAT if !raw.is_empty() => {
            from_raw(4)?;
            raw.chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect()
        }
        data_type::FLOAT => t.float_data.iter().map(|&v| f64::from(v)).collect(),
        data_type::DOUBLE if !raw.is_empty() => {
            from_raw(8)?;
            raw.chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect()
        }
        data_type::DOUBLE => t.double_data.clone(),
        data_type::UINT8 if !raw.is_empty() => raw.iter().map(|&b| f64::from(b)).collect(),
        data_type::UINT8 | data_type::INT32 => t.int32_data.iter().map(|&v| f64::from(v)).collect(),
        data_type::INT64 if !raw.is_empty() => {
            from_raw(8)?;
            raw.chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64)
                .collect()
        }
        data_type::INT64 => t.int64_data.iter().map(|&v| v as f64).collect(),
        other => return Err(format!("tensor {} has element type {other}", t.name)),
    })
}

/// An ensemble node's attributes by name.
struct Attrs<'a> {
    op: &'a str,
    by_name: HashMap<&'a str, &'a AttributeProto>,
}

/// An ensemble read from its attributes, before the output rule is chosen.
struct Parsed {
    ensemble: Ensemble,
    /// Class labels (classifiers).
    labels: Option<Vec<String>>,
    n_targets: usize,
    /// Sum slots that some leaf writes.
    weighted: BTreeSet<u32>,
    all_positive: bool,
    average: bool,
    base: Vec<f32>,
    post: Post,
    max_feature: Option<u32>,
}

const KNOWN_OPSET3: [&str; 26] = [
    "nodes_treeids",
    "nodes_nodeids",
    "nodes_featureids",
    "nodes_values",
    "nodes_values_as_tensor",
    "nodes_modes",
    "nodes_truenodeids",
    "nodes_falsenodeids",
    "nodes_missing_value_tracks_true",
    "nodes_hitrates",
    "nodes_hitrates_as_tensor",
    "class_treeids",
    "class_nodeids",
    "class_ids",
    "class_weights",
    "class_weights_as_tensor",
    "classlabels_int64s",
    "classlabels_strings",
    "target_treeids",
    "target_nodeids",
    "target_ids",
    "target_weights",
    "target_weights_as_tensor",
    "n_targets",
    "aggregate_function",
    "post_transform",
];

impl<'a> Attrs<'a> {
    fn of(n: &'a NodeProto) -> Result<Attrs<'a>> {
        Ok(Attrs {
            op: &n.op_type,
            by_name: n.attribute.iter().map(|a| (a.name.as_str(), a)).collect(),
        })
    }

    fn err(&self, name: &str, what: impl std::fmt::Display) -> Error {
        bad(format!("{} attribute {name}: {what}", self.op))
    }

    fn ints(&self, name: &str) -> Vec<i64> {
        self.by_name
            .get(name)
            .map_or_else(Vec::new, |a| a.ints.clone())
    }

    fn int(&self, name: &str, default: i64) -> i64 {
        self.by_name.get(name).map_or(default, |a| a.i)
    }

    fn string(&self, name: &str, default: &str) -> String {
        self.by_name.get(name).map_or_else(
            || default.to_string(),
            |a| String::from_utf8_lossy(&a.s).into_owned(),
        )
    }

    fn strings(&self, name: &str) -> Vec<String> {
        self.by_name.get(name).map_or_else(Vec::new, |a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
    }

    /// A list of numbers given as `name` (floats) or `name_as_tensor` (doubles).
    fn numbers(&self, name: &str) -> Result<Vec<f64>> {
        if let Some(a) = self.by_name.get(format!("{name}_as_tensor").as_str()) {
            let t = a.t.as_ref().ok_or_else(|| self.err(name, "no tensor"))?;
            return tensor_f64(t).map_err(|e| self.err(name, e));
        }
        Ok(self.by_name.get(name).map_or_else(Vec::new, |a| {
            if a.r#type == attribute_type::TENSOR {
                a.t.as_ref()
                    .and_then(|t| tensor_f64(t).ok())
                    .unwrap_or_default()
            } else {
                a.floats.iter().map(|&v| f64::from(v)).collect()
            }
        }))
    }

    fn tensor(&self, name: &str) -> Result<Vec<f64>> {
        match self.by_name.get(name) {
            None => Ok(Vec::new()),
            Some(a) => {
                let t = a.t.as_ref().ok_or_else(|| self.err(name, "not a tensor"))?;
                tensor_f64(t).map_err(|e| self.err(name, e))
            }
        }
    }

    fn post(&self, name: &str) -> Result<Post> {
        match self.string(name, "NONE").as_str() {
            "NONE" => Ok(Post::None),
            "LOGISTIC" => Ok(Post::Logistic),
            "SOFTMAX" => Ok(Post::Softmax),
            "SOFTMAX_ZERO" => Ok(Post::SoftmaxZero),
            other => Err(self.err(name, format!("post_transform {other} is not supported"))),
        }
    }

    fn same_len(&self, names: &[&str], lens: &[usize]) -> Result<()> {
        if lens.iter().any(|&l| l != lens[0]) {
            return Err(bad(format!(
                "{}: attributes {} differ in length ({lens:?})",
                self.op,
                names.join(", ")
            )));
        }
        Ok(())
    }

    fn feature(&self, f: i64) -> Result<u32> {
        u32::try_from(f)
            .ok()
            .filter(|&f| (f as usize) < MAX_FEATURES)
            .ok_or_else(|| self.err("nodes_featureids", format!("feature {f} is out of range")))
    }

    /// ai.onnx.ml opset 1-3's TreeEnsembleClassifier and TreeEnsembleRegressor.
    fn opset3(&self, classifier: bool) -> Result<Parsed> {
        if let Some(unknown) = self.by_name.keys().find(|k| {
            !KNOWN_OPSET3.contains(k) && **k != "base_values" && **k != "base_values_as_tensor"
        }) {
            return Err(self.err(unknown, "is not supported"));
        }
        let tree = self.ints("nodes_treeids");
        let id = self.ints("nodes_nodeids");
        let feat = self.ints("nodes_featureids");
        let vals = self.numbers("nodes_values")?;
        let modes = self.strings("nodes_modes");
        let yes = self.ints("nodes_truenodeids");
        let no = self.ints("nodes_falsenodeids");
        let mut missing = self.ints("nodes_missing_value_tracks_true");
        if missing.is_empty() {
            missing = vec![0; tree.len()];
        }
        self.same_len(
            &[
                "nodes_treeids",
                "nodes_nodeids",
                "nodes_featureids",
                "nodes_values",
                "nodes_modes",
                "nodes_truenodeids",
                "nodes_falsenodeids",
                "nodes_missing_value_tracks_true",
            ],
            &[
                tree.len(),
                id.len(),
                feat.len(),
                vals.len(),
                modes.len(),
                yes.len(),
                no.len(),
                missing.len(),
            ],
        )?;
        let p = if classifier { "class" } else { "target" };
        let w_tree = self.ints(&format!("{p}_treeids"));
        let w_node = self.ints(&format!("{p}_nodeids"));
        let w_id = self.ints(&format!("{p}_ids"));
        let w = self.numbers(&format!("{p}_weights"))?;
        self.same_len(
            &[
                &format!("{p}_treeids"),
                &format!("{p}_nodeids"),
                &format!("{p}_ids"),
                &format!("{p}_weights"),
            ],
            &[w_tree.len(), w_node.len(), w_id.len(), w.len()],
        )?;
        let labels = if classifier {
            let ints = self.ints("classlabels_int64s");
            let strs = self.strings("classlabels_strings");
            Some(if ints.is_empty() {
                strs
            } else {
                ints.iter().map(|v| v.to_string()).collect()
            })
        } else {
            None
        };
        let n_targets = match &labels {
            Some(l) => l.len(),
            None => usize::try_from(self.int("n_targets", 1)).unwrap_or(0),
        };
        if n_targets == 0 || n_targets > MAX_OUTPUTS {
            return Err(bad(format!(
                "{}: {n_targets} {}; from 1 to {MAX_OUTPUTS} are supported",
                self.op,
                if classifier { "classes" } else { "targets" }
            )));
        }

        // (tree id, node id) -> index; nodes in file order.
        let mut index: HashMap<(i64, i64), usize> = HashMap::with_capacity(tree.len());
        let mut roots: Vec<(i64, usize)> = Vec::new();
        for (i, (&t, &n)) in tree.iter().zip(&id).enumerate() {
            if index.insert((t, n), i).is_some() {
                return Err(self.err("nodes_nodeids", format!("tree {t} has node {n} twice")));
            }
        }
        let mut leaves: Vec<Vec<(u32, f32)>> = vec![Vec::new(); tree.len()];
        let mut weighted = BTreeSet::new();
        let mut all_positive = true;
        for k in 0..w.len() {
            let at = *index.get(&(w_tree[k], w_node[k])).ok_or_else(|| {
                self.err(
                    &format!("{p}_nodeids"),
                    format!(
                        "a weight is for node {} of tree {}, which is not there",
                        w_node[k], w_tree[k]
                    ),
                )
            })?;
            let slot = u32::try_from(w_id[k])
                .ok()
                .filter(|&s| (s as usize) < n_targets)
                .ok_or_else(|| {
                    self.err(
                        &format!("{p}_ids"),
                        format!("id {} is out of range", w_id[k]),
                    )
                })?;
            let v = w[k] as f32;
            if !v.is_finite() {
                return Err(self.err(&format!("{p}_weights"), "a weight is not finite"));
            }
            // ONNX Runtime's one-target path reads a leaf's first weight only.
            if classifier || n_targets > 1 || leaves[at].is_empty() {
                all_positive &= v >= 0.0;
                weighted.insert(slot);
                leaves[at].push((slot, v));
            }
        }
        let mut nodes = Vec::with_capacity(tree.len());
        let mut max_feature = None;
        for i in 0..tree.len() {
            let child = |c: i64, which: &str| {
                index.get(&(tree[i], c)).copied().ok_or_else(|| {
                    self.err(
                        which,
                        format!(
                            "node {} of tree {} points to node {c}, which is not there",
                            id[i], tree[i]
                        ),
                    )
                })
            };
            let mode = match modes[i].as_str() {
                "LEAF" => {
                    nodes.push(Node::Leaf(std::mem::take(&mut leaves[i])));
                    continue;
                }
                "BRANCH_LEQ" => Mode::Leq,
                "BRANCH_LT" => Mode::Lt,
                "BRANCH_GTE" => Mode::Gte,
                "BRANCH_GT" => Mode::Gt,
                "BRANCH_EQ" => Mode::Eq,
                "BRANCH_NEQ" => Mode::Neq,
                other => {
                    return Err(self.err("nodes_modes", format!("mode {other} is not supported")));
                }
            };
            if !vals[i].is_finite() || vals[i].abs() > f64::from(f32::MAX) {
                return Err(self.err(
                    "nodes_values",
                    format!("threshold {} is outside the f32 range", vals[i]),
                ));
            }
            let feature = self.feature(feat[i])?;
            max_feature = max_feature.max(Some(feature));
            nodes.push(Node::Split {
                feature,
                value: vals[i],
                mode,
                missing_true: missing[i] != 0,
                yes: child(yes[i], "nodes_truenodeids")?,
                no: child(no[i], "nodes_falsenodeids")?,
            });
        }
        // Each tree's root is its node 0; trees in the order of their first node.
        for (i, (&t, &n)) in tree.iter().zip(&id).enumerate() {
            if n == 0 {
                roots.push((t, i));
            }
        }
        let trees: BTreeSet<i64> = tree.iter().copied().collect();
        if roots.len() != trees.len() {
            return Err(self.err("nodes_nodeids", "a tree has no node 0 (its root)"));
        }
        if roots.is_empty() {
            return Err(bad(format!("{}: no trees", self.op)));
        }
        let aggregate = if classifier {
            "SUM".to_string()
        } else {
            self.string("aggregate_function", "SUM")
        };
        let average = match aggregate.as_str() {
            "SUM" => false,
            "AVERAGE" => true,
            other => {
                return Err(self.err(
                    "aggregate_function",
                    format!("aggregate_function {other} is not supported (SUM and AVERAGE are)"),
                ));
            }
        };
        Ok(Parsed {
            ensemble: Ensemble {
                nodes,
                roots: roots.into_iter().map(|(_, i)| i).collect(),
            },
            labels,
            n_targets,
            weighted,
            all_positive,
            average,
            base: self
                .numbers("base_values")?
                .iter()
                .map(|&v| v as f32)
                .collect(),
            post: self.post("post_transform")?,
            max_feature,
        })
    }

    /// ai.onnx.ml opset 5's TreeEnsemble: nodes and leaves apart, modes and values as tensors.
    fn opset5(&self) -> Result<Parsed> {
        let roots = self.ints("tree_roots");
        let feat = self.ints("nodes_featureids");
        let modes = self.tensor("nodes_modes")?;
        let splits = self.tensor("nodes_splits")?;
        let yes = self.ints("nodes_truenodeids");
        let yes_leaf = self.ints("nodes_trueleafs");
        let no = self.ints("nodes_falsenodeids");
        let no_leaf = self.ints("nodes_falseleafs");
        let mut missing = self.ints("nodes_missing_value_tracks_true");
        if missing.is_empty() {
            missing = vec![0; feat.len()];
        }
        self.same_len(
            &[
                "nodes_featureids",
                "nodes_modes",
                "nodes_splits",
                "nodes_truenodeids",
                "nodes_trueleafs",
                "nodes_falsenodeids",
                "nodes_falseleafs",
                "nodes_missing_value_tracks_true",
            ],
            &[
                feat.len(),
                modes.len(),
                splits.len(),
                yes.len(),
                yes_leaf.len(),
                no.len(),
                no_leaf.len(),
                missing.len(),
            ],
        )?;
        let leaf_t = self.ints("leaf_targetids");
        let leaf_w = self.tensor("leaf_weights")?;
        self.same_len(
            &["leaf_targetids", "leaf_weights"],
            &[leaf_t.len(), leaf_w.len()],
        )?;
        let n_targets = usize::try_from(self.int("n_targets", 1)).unwrap_or(0);
        if n_targets == 0 || n_targets > MAX_OUTPUTS {
            return Err(self.err(
                "n_targets",
                format!("{n_targets}; from 1 to {MAX_OUTPUTS} are supported"),
            ));
        }
        let mut members = self.tensor("membership_values")?.into_iter();
        let n_splits = feat.len();
        let mut nodes = Vec::with_capacity(n_splits + leaf_t.len());
        let mut max_feature = None;
        let at = |i: i64, leaf: bool, which: &str| -> Result<usize> {
            let (base, len) = if leaf {
                (n_splits, leaf_t.len())
            } else {
                (0, n_splits)
            };
            usize::try_from(i)
                .ok()
                .filter(|&i| i < len)
                .map(|i| base + i)
                .ok_or_else(|| self.err(which, format!("index {i} is out of range")))
        };
        for i in 0..n_splits {
            let v = splits[i];
            let mode = match modes[i] as u8 {
                0 => Mode::Leq,
                1 => Mode::Lt,
                2 => Mode::Gte,
                3 => Mode::Gt,
                4 => Mode::Eq,
                5 => Mode::Neq,
                6 => Mode::Member(members.by_ref().take_while(|v| !v.is_nan()).collect()),
                m => return Err(self.err("nodes_modes", format!("mode {m} is not supported"))),
            };
            if !matches!(mode, Mode::Member(_)) && (!v.is_finite() || v.abs() > f64::from(f32::MAX))
            {
                return Err(self.err(
                    "nodes_splits",
                    format!("threshold {v} is outside the f32 range"),
                ));
            }
            let feature = self.feature(feat[i])?;
            max_feature = max_feature.max(Some(feature));
            nodes.push(Node::Split {
                feature,
                value: v,
                mode,
                missing_true: missing[i] != 0,
                yes: at(yes[i], yes_leaf[i] != 0, "nodes_truenodeids")?,
                no: at(no[i], no_leaf[i] != 0, "nodes_falsenodeids")?,
            });
        }
        let mut weighted = BTreeSet::new();
        let mut all_positive = true;
        for (&t, &w) in leaf_t.iter().zip(&leaf_w) {
            let slot = u32::try_from(t)
                .ok()
                .filter(|&s| (s as usize) < n_targets)
                .ok_or_else(|| self.err("leaf_targetids", format!("target {t} is out of range")))?;
            let w = w as f32;
            if !w.is_finite() {
                return Err(self.err("leaf_weights", "a weight is not finite"));
            }
            all_positive &= w >= 0.0;
            weighted.insert(slot);
            nodes.push(Node::Leaf(vec![(slot, w)]));
        }
        let roots = roots
            .iter()
            .map(|&r| at(r, false, "tree_roots"))
            .collect::<Result<Vec<_>>>()?;
        if roots.is_empty() {
            return Err(bad(format!("{}: no trees", self.op)));
        }
        let average = match self.int("aggregate_function", 1) {
            0 => true,
            1 => false,
            a => {
                return Err(self.err(
                    "aggregate_function",
                    format!(
                        "aggregate_function {} is not supported (SUM and AVERAGE are)",
                        ["AVERAGE", "SUM", "MIN", "MAX"]
                            .get(a as usize)
                            .unwrap_or(&"?")
                    ),
                ));
            }
        };
        let post = match self.int("post_transform", 0) {
            0 => Post::None,
            1 => Post::Softmax,
            2 => Post::Logistic,
            3 => Post::SoftmaxZero,
            p => {
                return Err(self.err(
                    "post_transform",
                    format!(
                        "post_transform {} is not supported",
                        if p == 4 { "PROBIT" } else { "?" }
                    ),
                ));
            }
        };
        Ok(Parsed {
            ensemble: Ensemble { nodes, roots },
            labels: None,
            n_targets,
            weighted,
            all_positive,
            average,
            base: Vec::new(),
            post,
            max_feature,
        })
    }
}

/// The output rule that gives ONNX Runtime's outputs for this ensemble, and the number of
/// outputs. Classifiers of two classes follow its binary rules: one weighted class makes one
/// score that becomes `[1 - s, s]` (all weights positive) or `[-s, s]` (then the logistic,
/// where asked); regressors of one target ignore every post-transform (but PROBIT).
fn head_of(p: &Parsed, graph_post: Option<Post>) -> Result<(Head, usize)> {
    let k = p.n_targets;
    let post = match (p.post, graph_post) {
        (Post::None, Some(g)) => g,
        (post, None) => post,
        (_, Some(_)) => {
            return Err(bad(
                "the ensemble has a post_transform and the graph another Sigmoid or Softmax after it",
            ));
        }
    };
    let mut head = Head {
        width: k as u32,
        average: p.average,
        base: Vec::new(),
        pair: Pair::None,
        post,
    };
    let base_len = p.base.len();
    let Some(_) = &p.labels else {
        // Regression.
        match base_len {
            0 => {}
            n if n == k => head.base = p.base.clone(),
            n => return Err(bad(format!("{n} base values for {k} targets"))),
        }
        if k > 1 {
            return Err(bad(format!(
                "a regressor of {k} targets; this program predicts one value a row"
            )));
        }
        // One target: ONNX Runtime applies no logistic or softmax (only PROBIT).
        head.post = if graph_post.is_some() {
            post
        } else {
            Post::None
        };
        return Ok((head, 1));
    };
    if k == 1 {
        return Err(bad("a classifier with one class label"));
    }
    if p.weighted.is_empty() {
        return Err(bad("a classifier whose leaves hold no class weight"));
    }
    if k > 2 {
        match base_len {
            0 => {}
            n if n == k => head.base = p.base.clone(),
            n => return Err(bad(format!("{n} base values for {k} classes"))),
        }
        return Ok((head, k));
    }
    // Two classes.
    let has1 = p.weighted.contains(&1);
    let single = !has1; // only class id 0 is weighted: one score
    if base_len > 2 {
        return Err(bad(format!("{base_len} base values for 2 classes")));
    }
    if base_len == 2 && has1 {
        return Err(bad(
            "a binary classifier with two base values and weights for class 1: ONNX Runtime's \
             rule for it reads only class 0's weights; convert it with one base value",
        ));
    }
    if single && base_len < 2 {
        head.width = 1;
        head.base = p.base.clone();
        if p.all_positive {
            head.pair = Pair::OneMinus;
            head.post = Post::None;
        } else {
            head.pair = Pair::Negate;
            head.post = if post == Post::Logistic {
                Post::Logistic
            } else {
                Post::None
            };
        }
        return Ok((head, 2));
    }
    // Two scores.
    head.base = match base_len {
        0 => Vec::new(),
        1 => vec![p.base[0], 0.0],
        _ => p.base.clone(),
    };
    Ok((head, 2))
}

/// onnxmltools' graph of a Spark ML gradient-boosted forest: one TreeEnsembleRegressor a tree
/// on the same input, joined by Concat and summed with the trees' weights by a MatMul; for a
/// classifier, then `[-m, m]` (Neg, Concat), times a constant `c`, and `1 / (1 + e^x)` (Exp, Add
/// 1, Reciprocal), with the label from an ArgMax. That is one ensemble whose leaves are scaled
/// by their tree's weight and, for a classifier, `[σ(-s), σ(s)]` of `s = -c m`.
fn spark_gbt(
    g: &GraphProto,
    ensembles: &[&NodeProto],
) -> std::result::Result<(Parsed, Head, usize, Graph), String> {
    let producer: HashMap<&str, &NodeProto> = g
        .node
        .iter()
        .flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n)))
        .collect();
    let consumers = |name: &str| -> Vec<&NodeProto> {
        g.node
            .iter()
            .filter(|n| n.input.iter().any(|i| i == name))
            .collect()
    };
    let initial: HashMap<&str, &proto::TensorProto> =
        g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let constant =
        |name: &str| -> Option<Vec<f64>> { initial.get(name).and_then(|t| tensor_f64(t).ok()) };
    let one = |n: &NodeProto, op: &str| -> std::result::Result<String, String> {
        if n.op_type != op {
            return Err(format!("a {} node where {op} was expected", n.op_type));
        }
        n.output
            .first()
            .cloned()
            .ok_or_else(|| format!("{op} has no output"))
    };
    let only = |name: &str, op: &str| -> std::result::Result<String, String> {
        match consumers(name).as_slice() {
            [n] => one(n, op),
            other => Err(format!(
                "{name} goes to {} nodes, not one {op}",
                other.len()
            )),
        }
    };

    let input = ensembles[0]
        .input
        .first()
        .ok_or("an ensemble has no input")?;
    let outs: Vec<&str> = ensembles
        .iter()
        .map(|e| {
            if e.op_type != "TreeEnsembleRegressor" || e.input.first() != Some(input) {
                return Err("the ensembles are not regressors on one input".to_string());
            }
            e.output
                .first()
                .map(|s| s.as_str())
                .ok_or_else(|| "an ensemble has no output".into())
        })
        .collect::<std::result::Result<_, _>>()?;
    let concat = consumers(outs[0]);
    let [concat] = concat.as_slice() else {
        return Err("the first ensemble's output does not go to one Concat".into());
    };
    if concat.op_type != "Concat"
        || concat.input.iter().map(|s| s.as_str()).collect::<Vec<_>>() != outs
    {
        return Err("the ensembles' outputs are not concatenated in order".into());
    }
    let joined = one(concat, "Concat")?;
    let matmul = consumers(&joined);
    let [matmul] = matmul.as_slice() else {
        return Err("the concatenated scores do not go to one MatMul".into());
    };
    let weights = matmul
        .input
        .get(1)
        .and_then(|w| constant(w))
        .filter(|w| w.len() == ensembles.len())
        .ok_or("the MatMul's weights are not a constant, one per tree")?;
    let total = one(matmul, "MatMul")?;

    // Classifier tail, or the sum itself as the output.
    let (scale, head, n_outputs, labels, output_name) = if g.output.iter().any(|o| o.name == total)
    {
        (
            1.0,
            Head {
                width: 1,
                average: false,
                base: Vec::new(),
                pair: Pair::None,
                post: Post::None,
            },
            1,
            None,
            total.clone(),
        )
    } else {
        let neg = only(&total, "Neg").or_else(|_| {
            consumers(&total)
                .iter()
                .find(|n| n.op_type == "Neg")
                .and_then(|n| n.output.first().cloned())
                .ok_or("the sum goes to no Neg".to_string())
        })?;
        let pair = only(&neg, "Concat")?;
        let pair_node = producer[pair.as_str()];
        if pair_node.input != [neg.clone(), total.clone()] {
            return Err("the classifier's scores are not [-m, m]".into());
        }
        let after: Vec<&NodeProto> = consumers(&pair);
        let mul = after
            .iter()
            .find(|n| n.op_type == "Mul")
            .ok_or("no Mul after [-m, m]")?;
        if !after.iter().any(|n| n.op_type == "ArgMax") {
            return Err("no ArgMax after [-m, m]".into());
        }
        if after.len() != 2 {
            return Err("[-m, m] goes to other nodes than Mul and ArgMax".into());
        }
        let c = mul
            .input
            .get(1)
            .and_then(|c| constant(c))
            .filter(|c| c.len() == 1)
            .ok_or("the Mul is not by one constant")?[0];
        let e = only(&one(mul, "Mul")?, "Exp")?;
        let add = consumers(&e);
        let [add] = add.as_slice() else {
            return Err("the Exp does not go to one Add".into());
        };
        if add.op_type != "Add" || add.input.get(1).and_then(|c| constant(c)) != Some(vec![1.0]) {
            return Err("the Exp is not followed by adding 1".into());
        }
        let p = only(&one(add, "Add")?, "Reciprocal")?;
        if !g.output.iter().any(|o| o.name == p) {
            return Err("the probabilities are not a graph output".into());
        }
        (
            -c,
            Head {
                width: 1,
                average: false,
                base: Vec::new(),
                pair: Pair::Negate,
                post: Post::Logistic,
            },
            2,
            Some(vec!["0".to_string(), "1".to_string()]),
            p,
        )
    };
    let allowed = [
        "Concat",
        "MatMul",
        "Neg",
        "Mul",
        "Exp",
        "Add",
        "Reciprocal",
        "ArgMax",
        "Identity",
        "Cast",
    ];
    if let Some(n) = g.node.iter().find(|n| {
        !ENSEMBLES.contains(&n.op_type.as_str()) && !allowed.contains(&n.op_type.as_str())
    }) {
        return Err(format!("it also has a {} node", n.op_type));
    }

    // One ensemble: every tree's leaves times its weight (and the classifier's scale).
    let mut merged = Ensemble::default();
    let mut max_feature = None;
    for (e, &w) in ensembles.iter().zip(&weights) {
        let a = Attrs::of(e).map_err(|e| e.to_string())?;
        let p = a.opset3(false).map_err(|e| e.to_string())?;
        if p.average
            || p.post != Post::None
            || !p.base.iter().all(|&b| b == 0.0)
            || p.n_targets != 1
        {
            return Err("an ensemble averages, has base values or a post_transform".into());
        }
        let at = merged.nodes.len();
        let k = (w * scale) as f32;
        merged.roots.extend(p.ensemble.roots.iter().map(|r| r + at));
        merged
            .nodes
            .extend(p.ensemble.nodes.into_iter().map(|n| match n {
                Node::Leaf(ws) => Node::Leaf(ws.into_iter().map(|(s, v)| (s, v * k)).collect()),
                Node::Split {
                    feature,
                    value,
                    mode,
                    missing_true,
                    yes,
                    no,
                } => Node::Split {
                    feature,
                    value,
                    mode,
                    missing_true,
                    yes: yes + at,
                    no: no + at,
                },
            }));
        max_feature = max_feature.max(p.max_feature);
    }
    let (input_name, n_features) = graph_input(g, &producer, input).map_err(|e| e.to_string())?;
    let parsed = Parsed {
        ensemble: merged,
        labels,
        n_targets: 1,
        weighted: BTreeSet::from([0]),
        all_positive: false,
        average: false,
        base: Vec::new(),
        post: head.post,
        max_feature,
    };
    let graph = Graph {
        input_name: input_name.to_string(),
        output_name,
        n_features,
        post: None,
    };
    Ok((parsed, head, n_outputs, graph))
}
