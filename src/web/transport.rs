//! A protocol [`Message`] to and from a worker: a JS array `[header, Uint8Array...]`, whose
//! buffers are transferred rather than copied (or shared, where the page is cross-origin
//! isolated). The page's services and the workers both speak through this, and only this.

use crate::error::{Error, Result};
use crate::protocol::Message;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// The message as a JS value and the list of buffers to transfer with it.
pub fn to_js(m: &Message) -> (Array, Array) {
    let buffers: Vec<&[u8]> = m.buffers.iter().map(Vec::as_slice).collect();
    parts_to_js(&m.header, &buffers)
}

/// [`to_js`] of a header and borrowed buffers: each is copied out of wasm memory once, into a
/// buffer that is then transferred.
pub fn parts_to_js(header: &str, buffers: &[&[u8]]) -> (Array, Array) {
    let arr = Array::new();
    let transfer = Array::new();
    arr.push(&JsValue::from_str(header));
    for b in buffers {
        let u = Uint8Array::from(*b);
        transfer.push(&u.buffer());
        arr.push(&u);
    }
    (arr, transfer)
}

/// Whether `a`'s memory is a SharedArrayBuffer: posting it shares it (no copy), and it cannot
/// be transferred.
pub fn is_shared(a: &Uint8Array) -> bool {
    !a.buffer().is_instance_of::<js_sys::ArrayBuffer>()
}

/// `bytes` repeated up to `len` bytes (once, for `len == bytes.len()`), in memory that the page
/// and its workers share, so that posting it copies nothing, where the page is cross-origin
/// isolated; elsewhere in a plain array. Written in place: no copy of the whole in wasm memory.
pub fn shared_copy(bytes: &[u8], len: u32) -> Uint8Array {
    let isolated = js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let len = if bytes.is_empty() { 0 } else { len };
    let a = if isolated {
        Uint8Array::new(&js_sys::SharedArrayBuffer::new(len))
    } else {
        Uint8Array::new_with_length(len)
    };
    let mut at = 0;
    while at < len {
        let n = (bytes.len() as u32).min(len - at);
        a.subarray(at, at + n).copy_from(&bytes[..n as usize]);
        at += n;
    }
    a
}

/// `a` to post on while the sender keeps it: a shared array as it is, a plain one as a copy
/// (which is then transferred).
pub fn to_post(a: &Uint8Array) -> Uint8Array {
    if is_shared(a) {
        a.clone()
    } else {
        a.slice(0, a.length())
    }
}

/// A message of a header and JS arrays; the arrays' buffers are transferred, unless shared.
pub fn js_to_post(header: &str, arrays: &[Uint8Array]) -> (Array, Array) {
    let msg = Array::of1(&JsValue::from_str(header));
    let transfer = Array::new();
    for a in arrays {
        msg.push(a);
        if !is_shared(a) {
            transfer.push(&a.buffer());
        }
    }
    (msg, transfer)
}

/// A message whose buffers stay JS arrays (not copied into wasm memory), to pass on.
pub struct JsMessage {
    pub header: String,
    pub buffers: Vec<Uint8Array>,
}

impl JsMessage {
    /// Buffers `range` copied into wasm memory, under `header`.
    pub fn to_message(&self, header: String, range: std::ops::Range<usize>) -> Result<Message> {
        let buffers = self
            .buffers
            .get(range)
            .ok_or_else(|| Error::Worker("a message with too few buffers".into()))?
            .iter()
            .map(Uint8Array::to_vec)
            .collect();
        Ok(Message { header, buffers })
    }
}

pub fn js_message(v: &JsValue) -> Result<JsMessage> {
    let arr: &Array = v
        .dyn_ref()
        .ok_or_else(|| Error::Worker("a message that is not an array".into()))?;
    let header = arr
        .get(0)
        .as_string()
        .ok_or_else(|| Error::Worker("a message without its header".into()))?;
    let buffers = (1..arr.length())
        .map(|i| arr.get(i).dyn_into::<Uint8Array>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::Worker("a message buffer that is not bytes".into()))?;
    Ok(JsMessage { header, buffers })
}

/// [`JsMessage`] with its buffers copied into wasm memory.
pub fn from_js(v: &JsValue) -> Result<Message> {
    let m = js_message(v)?;
    let n = m.buffers.len();
    m.to_message(m.header.clone(), 0..n)
}
