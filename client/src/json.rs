//! JSON in the browser: the browser's own `JSON.parse` and `JSON.stringify`
//! with serde over JavaScript values (`serde-wasm-bindgen`), into and out
//! of the shared contract's types. No JSON parser of our own is linked into
//! the download (serde_json's number parsing alone costs kilobytes).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads `text` as a `T`.
///
/// # Errors
/// Why it does not read, in words.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_owned())?;
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// Reads `bytes` (UTF-8 JSON) as a `T`.
///
/// # Errors
/// Why it does not read, in words.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    from_str(std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?)
}

/// Writes `value` as JSON text.
pub fn to_string<T: Serialize>(value: &T) -> Option<String> {
    let value = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()?;
    js_sys::JSON::stringify(&value).ok()?.as_string()
}
