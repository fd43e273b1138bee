//! Feeds arbitrary bytes through both exports (skipping bad lines): they
//! must never panic, and the Perfetto output must stay valid JSON.
#![no_main]

use ipc_trace::export::{Filter, export_ndjson, export_perfetto};
use ipc_trace::recording::{ReadOptions, RecordingReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions::skipping_bad();
    if let Ok(mut reader) = RecordingReader::new(data, options) {
        let mut out = Vec::new();
        if export_perfetto(&mut reader, &mut out, &Filter::default()).is_ok() {
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok(), "invalid JSON");
        }
    }
    if let Ok(mut reader) = RecordingReader::new(data, options) {
        let filter = Filter {
            key: Some(0),
            ..Filter::default()
        };
        let _ = export_ndjson(&mut reader, std::io::sink(), &filter);
    }
});
