//! [`Message`]s to and from workers: a JS array `[header, Uint8Array...]`, whose buffers are
//! transferred rather than copied.

use crate::error::{Error, Result};
use crate::shard::Message;
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

pub fn from_js(v: &JsValue) -> Result<Message> {
    let arr: &Array = v
        .dyn_ref()
        .ok_or_else(|| Error::Worker("a message that is not an array".into()))?;
    let header = arr
        .get(0)
        .as_string()
        .ok_or_else(|| Error::Worker("a message without its header".into()))?;
    let buffers = (1..arr.length())
        .map(|i| arr.get(i).dyn_into::<Uint8Array>().map(|u| u.to_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::Worker("a message buffer that is not bytes".into()))?;
    Ok(Message { header, buffers })
}

/// A message with a header only.
pub fn header_only(header: impl serde::Serialize) -> Message {
    Message {
        header: serde_json::to_string(&header).expect("plain header"),
        buffers: Vec::new(),
    }
}
