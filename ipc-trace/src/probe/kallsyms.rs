//! Which kernel functions exist as symbols (/proc/kallsyms). A function
//! that was inlined has no symbol and cannot be probed; one the compiler
//! specialised shows up only as `name.isra.0`, `name.constprop.0`, ...

use std::collections::HashMap;

/// What /proc/kallsyms says about a function name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SymbolState {
    /// The exact symbol exists.
    Present,
    /// Only compiler-specialised variants exist (the first one is given).
    OnlyVariant(String),
    /// No symbol at all.
    Absent,
}

/// The symbols of interest, looked up once.
#[derive(Clone, Debug, Default)]
pub struct Kallsyms {
    states: HashMap<String, SymbolState>,
}

impl Kallsyms {
    /// Reads /proc/kallsyms for the given names; None when it cannot be read.
    pub fn read(names: &[&str]) -> Option<Kallsyms> {
        let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
        Some(Kallsyms::parse(&text, names))
    }

    /// Looks the names up in a kallsyms text (`addr type name [module]` lines).
    pub fn parse(text: &str, names: &[&str]) -> Kallsyms {
        let mut states: HashMap<String, SymbolState> = names
            .iter()
            .map(|n| ((*n).to_string(), SymbolState::Absent))
            .collect();
        for line in text.lines() {
            let Some(symbol) = line.split_whitespace().nth(2) else {
                continue;
            };
            let base = symbol.split('.').next().unwrap_or(symbol);
            let Some(state) = states.get_mut(base) else {
                continue;
            };
            if symbol == base {
                *state = SymbolState::Present;
            } else if *state == SymbolState::Absent {
                *state = SymbolState::OnlyVariant(symbol.to_string());
            }
        }
        Kallsyms { states }
    }

    /// The state of `name` (Absent when it was not asked for).
    pub fn state(&self, name: &str) -> SymbolState {
        self.states
            .get(name)
            .cloned()
            .unwrap_or(SymbolState::Absent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_variant_and_absent_symbols() {
        let text = "ffffffff81a6e7e0 t newseg\n\
                    ffffffff81a6e000 t freeary.isra.0\n\
                    ffffffff81a6e100 T do_shmat\n\
                    ffffffff81000000 t newseg_helper [mod]\n";
        let k = Kallsyms::parse(text, &["newseg", "freeary", "__do_semtimedop", "do_shmat"]);
        assert_eq!(k.state("newseg"), SymbolState::Present);
        assert_eq!(k.state("do_shmat"), SymbolState::Present);
        assert_eq!(
            k.state("freeary"),
            SymbolState::OnlyVariant("freeary.isra.0".to_string())
        );
        assert_eq!(k.state("__do_semtimedop"), SymbolState::Absent);
    }
}
