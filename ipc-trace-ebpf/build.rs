use which::which;

fn main() {
    // Rebuild the programs when bpf-linker changes (as aya-template does).
    if let Ok(bpf_linker) = which("bpf-linker") {
        println!("cargo:rerun-if-changed={}", bpf_linker.display());
    }
    // bpf-linker's default `--bpf-expand-memcpy-in-order` turns every
    // memset (zeroing a record, a stack buffer) into a call to a byte loop;
    // without it LLVM writes the stores inline.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("bpf") {
        println!("cargo:rustc-link-arg-bins=--disable-expand-memcpy-in-order");
    }
}
