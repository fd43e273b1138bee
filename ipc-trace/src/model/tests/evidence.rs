//! Each lifecycle keeps the strongest evidence of each of its steps.

use super::*;

#[test]
fn a_lifecycle_s_steps_keep_their_evidence_and_tracepoints_never_reach_the_kernel_level() {
    use crate::model::evidence::Evidence;
    let mut kernel = State::new();
    let mut tracepoint = State::new();
    for ev in crate::model::fixture::producer_consumer() {
        kernel.apply(&ev);
        let mut t = ev.clone();
        t.backend = crate::event::Backend::Tracepoint;
        tracepoint.apply(&t);
    }
    let seg = |s: &State| {
        s.objects()
            .find(|o| o.key.kind == ObjKind::Shm && o.key.id == 32768)
            .cloned()
            .expect("the sample segment")
    };
    let k = seg(&kernel);
    assert_eq!(k.step_evidence(Step::SHM3), Evidence::InKernel);
    assert_eq!(k.step_evidence(Step::SHM1), Evidence::SyscallBoundary);
    assert_eq!(k.step_evidence(Step::SHM6), Evidence::Implied);
    for o in tracepoint.objects() {
        assert!(o.steps_in_kernel.is_empty(), "{:?}", o.key);
    }
    assert_eq!(
        seg(&tracepoint).step_evidence(Step::SHM3),
        Evidence::Implied
    );
}
