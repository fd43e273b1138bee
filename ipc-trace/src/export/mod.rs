//! Exports of a recording: filtered NDJSON and Chrome/Perfetto trace JSON.
