//! Feeds arbitrary bytes to the recording reader, strict and skipping bad
//! lines: it must never panic, never loop, and keep its own invariants.
#![no_main]

use ipc_trace::recording::{ReadOptions, Record, RecordingReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for skip_bad in [false, true] {
        let options = ReadOptions {
            skip_bad,
            keep_errors: 4,
        };
        let Ok(mut reader) = RecordingReader::new(data, options) else {
            continue;
        };
        let mut records = 0u64;
        let mut errors = 0u64;
        let mut stats_seen = false;
        while let Some(record) = reader.next() {
            match record {
                Ok(Record::Stats(_)) => {
                    assert!(!stats_seen, "two stats records returned");
                    stats_seen = true;
                    records += 1;
                }
                Ok(_) => {
                    assert!(!stats_seen, "a record returned after the stats line");
                    records += 1;
                }
                Err(e) => {
                    errors += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
            // Every call consumes at least one line: bounded by the input.
            assert!(records + errors <= data.len() as u64 + 1, "more records than lines");
        }
        assert!(!skip_bad || errors == 0, "skip_bad returned {errors} errors");
        assert!(skip_bad || errors <= 1, "strict mode went on after an error");
        assert!(reader.skipped() <= reader.line());
        assert!(reader.errors().len() <= 5);
    }
});
