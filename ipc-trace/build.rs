//! Builds the eBPF programs (crate `ipc-trace-ebpf`) with the nightly
//! toolchain and bpf-linker, through aya-build, and leaves the object in
//! `OUT_DIR` for `include_bytes_aligned!`. `AYA_BUILD_SKIP=1` skips it.
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let ebpf_dir = manifest_dir.join("..").join("ipc-trace-ebpf");
    let root_dir = ebpf_dir
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("non-UTF-8 path {}", ebpf_dir.display()))?;
    println!("cargo:rerun-if-changed={}", ebpf_dir.join("src").display());
    println!("cargo:rerun-if-changed=../ipc-trace-common/src");
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "ipc-trace-ebpf",
            root_dir,
            ..Default::default()
        }],
        aya_build::Toolchain::default(),
    )
}
