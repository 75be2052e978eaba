//! Files in and out of the page: reading a chosen or dropped file, saving text as a download.
//! Nothing leaves the machine: downloads are `blob:` URLs made in the page.

use crate::error::{Error, Result};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The largest file the page reads (the rows are held in memory several times over).
pub const MAX_FILE_BYTES: f64 = 256.0 * 1024.0 * 1024.0;

pub async fn read(file: &web_sys::File) -> Result<Vec<u8>> {
    Ok(read_js(file).await?.to_vec())
}

/// [`read`], leaving the bytes in a JS array (to hand to a worker without a copy in wasm).
pub async fn read_js(file: &web_sys::File) -> Result<js_sys::Uint8Array> {
    if file.size() > MAX_FILE_BYTES {
        return Err(Error::Io(format!(
            "\"{}\" is {:.0} MB; the page reads files up to {:.0} MB (use the command-line `forest` for larger ones)",
            file.name(),
            file.size() / 1e6,
            MAX_FILE_BYTES / 1e6
        )));
    }
    let buf = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| Error::Io(format!("cannot read \"{}\": {e:?}", file.name())))?;
    Ok(js_sys::Uint8Array::new(&buf))
}

/// Fetches a file the page ships (`assets/`), from the page's own origin.
pub async fn fetch_asset(path: &str) -> Result<Vec<u8>> {
    Ok(fetch_asset_js(path).await?.to_vec())
}

/// [`fetch_asset`], leaving the bytes in a JS array.
pub async fn fetch_asset_js(path: &str) -> Result<js_sys::Uint8Array> {
    let window = web_sys::window().ok_or_else(|| Error::Io("no window".into()))?;
    let resp = JsFuture::from(window.fetch_with_str(path))
        .await
        .map_err(|e| Error::Io(format!("cannot load {path}: {e:?}")))?;
    let resp: web_sys::Response = resp.unchecked_into();
    if !resp.ok() {
        return Err(Error::Io(format!(
            "cannot load {path}: HTTP {}",
            resp.status()
        )));
    }
    let buf = JsFuture::from(
        resp.array_buffer()
            .map_err(|e| Error::Io(format!("cannot load {path}: {e:?}")))?,
    )
    .await
    .map_err(|e| Error::Io(format!("cannot load {path}: {e:?}")))?;
    Ok(js_sys::Uint8Array::new(&buf))
}

/// A file name's stem as part of a download's name: without its extension, as [`slug`].
pub fn stem(name: &str) -> String {
    slug(match name.rsplit_once('.') {
        Some((b, ext)) if !b.is_empty() && ext.len() <= 4 && !ext.contains(' ') => b,
        _ => name,
    })
}

/// `text` as part of a file name: each run of characters other than letters, digits, `_` and
/// `.` made one `-` ("synthetic (200 rows)" -> "synthetic-200-rows").
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "data".into()
    } else {
        out.to_string()
    }
}

/// Offers `text` as a file download named `name`.
pub fn download(name: &str, text: &str, mime: &str) -> Result<()> {
    let fail = |e| Error::Io(format!("cannot save {name}: {e:?}"));
    let parts = js_sys::Array::of1(&text.into());
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| Error::Io("no document".into()))?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(fail)?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}
