//! Text as the index compares it: folded names and parsed queries.
//!
//! Folding turns a name into lowercase ASCII letters and digits (`deunicode`:
//! `Ä` → `a`, `å` → `a`, `é` → `e`), so case and diacritics never matter.
//! Names are compared *compact* (without spaces): Finnish street names are
//! compounds ("Fredrikinkatu"), and people type them as one word or two.

use deunicode::deunicode;

/// Lowercase ASCII words of `s`: letters and digits, everything else a break.
pub fn words(s: &str) -> Vec<String> {
    deunicode(s)
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `s` folded and without spaces: how names are keyed.
pub fn compact(s: &str) -> String {
    words(s).concat()
}

/// Abbreviations of street types, as written in addresses (`Fredrikink.`,
/// `Mannerheimint.`, `Fredrikin k.`, `Sibeliusg.`): the abbreviation and what it
/// stands for, both folded. Longest first.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("kj", "kuja"),
    ("k", "katu"),
    ("t", "tie"),
    ("g", "gatan"),
    ("v", "vagen"),
];

fn expansion(abbrev: &str) -> Option<&'static str> {
    ABBREVIATIONS
        .iter()
        .find(|(a, _)| *a == abbrev)
        .map(|(_, full)| *full)
}

/// A house number: the leading digits and the letter after them
/// (`"14"`, `"14a"`, `"14 A"`; `"14-16"` is 14).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HouseNumber {
    pub number: u32,
    /// Folded (`"a"`), empty when there is none.
    pub letter: String,
}

impl HouseNumber {
    /// Parses an `addr:housenumber` value; `None` when it does not start with a digit.
    pub fn parse(s: &str) -> Option<Self> {
        let s = deunicode(s.trim()).to_ascii_lowercase();
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || digits.len() > 6 {
            return None;
        }
        let rest = s[digits.len()..].trim_start_matches([' ', '-']);
        // "14-16": the second number is a range, not a letter.
        let letter: String = if rest.starts_with(|c: char| c.is_ascii_digit()) {
            String::new()
        } else {
            rest.chars().take_while(char::is_ascii_alphabetic).collect()
        };
        // Only a staircase letter ("a", "b"), not a word ("as 5" is an apartment).
        let letter = if letter.len() == 1 {
            letter
        } else {
            String::new()
        };
        Some(Self {
            number: digits.parse().ok()?,
            letter,
        })
    }
}

/// What someone typed, taken apart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// The words that name the street or place, folded, abbreviations expanded.
    pub words: Vec<String>,
    /// The house number, when one was typed (before or after the street).
    pub number: Option<HouseNumber>,
    /// The digits of the house number as typed (for completing "Bulevardi 1" to 14).
    pub number_text: String,
    /// A five-digit postcode.
    pub postcode: Option<String>,
    /// A city named after the street (folded).
    pub city: Option<String>,
    /// The query ends inside its last word: that word may be the start of one.
    pub partial: bool,
    /// The last typed token was the house number (it may be incomplete).
    pub number_last: bool,
}

impl Query {
    /// The street or place words without spaces.
    pub fn compact(&self) -> String {
        self.words.concat()
    }

    /// Parses a query. `cities` are folded city names, dropped when other
    /// words remain ("Bulevardi 14, Helsinki").
    pub fn parse(input: &str, cities: &[String]) -> Self {
        let mut q = Query {
            partial: !input.ends_with(|c: char| c.is_whitespace() || c == ','),
            ..Query::default()
        };
        let raw: Vec<&str> = input
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .collect();
        let mut last_was_word = false;
        let mut number_done = false;
        for (i, token) in raw.iter().enumerate() {
            let dotted = token.ends_with('.');
            let folded = compact(token);
            if folded.is_empty() {
                continue;
            }
            q.number_last = false;
            if folded.starts_with(|c: char| c.is_ascii_digit()) {
                last_was_word = false;
                if folded.len() == 5 && folded.bytes().all(|b| b.is_ascii_digit()) {
                    q.postcode = Some(folded);
                } else if !number_done {
                    q.number = HouseNumber::parse(token);
                    q.number_text = folded.chars().take_while(char::is_ascii_digit).collect();
                    number_done = q.number.is_some();
                    q.number_last = i + 1 == raw.len();
                }
                continue;
            }
            // A single letter right after the number is its staircase ("14 A").
            if folded.len() == 1
                && !dotted
                && let Some(n) = q.number.as_mut()
                && n.letter.is_empty()
                && i > 0
                && compact(raw[i - 1]).starts_with(|c: char| c.is_ascii_digit())
            {
                n.letter = folded;
                continue;
            }
            // After "street number", words are the floor, door or staircase
            // ("Mannerheimintie 8, Floor 6"): not part of the street's name.
            if number_done && !q.words.is_empty() && !cities.contains(&folded) {
                continue;
            }
            // "Fredrikin k." / "Fredrikin k": the type joins the word before it.
            if last_was_word && let Some(full) = expansion(&folded) {
                if let Some(prev) = q.words.last_mut() {
                    prev.push_str(full);
                }
                continue;
            }
            // "Fredrikink." / "Mannerheimint.": an abbreviated ending.
            let word = match dotted {
                true => expand_ending(&folded),
                false => folded,
            };
            q.words.push(word);
            last_was_word = true;
        }
        // "…, Helsinki": the city narrows nothing the index does not know; dropped.
        if q.words.len() > 1 {
            let mut kept: Vec<String> = Vec::new();
            for (i, w) in q.words.iter().enumerate() {
                let is_city = cities.iter().any(|c| c == w);
                if is_city && i > 0 {
                    q.city = Some(w.clone());
                    continue;
                }
                kept.push(w.clone());
            }
            if !kept.is_empty() {
                q.words = kept;
            }
        }
        q
    }
}

/// `fredrikink` → `fredrikinkatu`: the longest abbreviation the word ends with,
/// expanded, when something is left before it.
fn expand_ending(word: &str) -> String {
    for (abbrev, full) in ABBREVIATIONS {
        if let Some(stem) = word.strip_suffix(abbrev)
            && stem.len() >= 3
        {
            return format!("{stem}{full}");
        }
    }
    word.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_and_diacritics() {
        assert_eq!(compact("Pohjoisesplanadi"), "pohjoisesplanadi");
        assert_eq!(compact("Ääninen Örö-tie"), "aaninenorotie");
        assert_eq!(compact("Skillnadsgatan 4 å"), "skillnadsgatan4a");
    }

    #[test]
    fn house_numbers_keep_their_staircase_letter() {
        let n = |s| HouseNumber::parse(s).unwrap();
        assert_eq!(
            n("14"),
            HouseNumber {
                number: 14,
                letter: String::new()
            }
        );
        assert_eq!(n("14a").letter, "a");
        assert_eq!(n("14 B").letter, "b");
        assert_eq!(n("14-16"), n("14"));
        assert_eq!(n("14 as 5").letter, "");
        assert_eq!(HouseNumber::parse("B 14"), None);
    }

    #[test]
    fn queries_take_the_number_before_or_after_and_expand_abbreviations() {
        let cities = vec!["helsinki".to_owned()];
        let q = Query::parse("Bulevardi 14 A, 00120 Helsinki", &cities);
        assert_eq!(q.words, vec!["bulevardi"]);
        assert_eq!(q.number.as_ref().unwrap().number, 14);
        assert_eq!(q.number.as_ref().unwrap().letter, "a");
        assert_eq!(q.postcode.as_deref(), Some("00120"));
        let q = Query::parse("14 Bulevardi", &cities);
        assert_eq!(q.words, vec!["bulevardi"]);
        assert_eq!(q.number.unwrap().number, 14);
        assert_eq!(
            Query::parse("Fredrikink. 5", &cities).compact(),
            "fredrikinkatu"
        );
        assert_eq!(
            Query::parse("Fredrikin k. 5", &cities).compact(),
            "fredrikinkatu"
        );
        assert_eq!(
            Query::parse("Mannerheimint. 3", &cities).compact(),
            "mannerheimintie"
        );
        let q = Query::parse("Bulevardi 1", &cities);
        assert!(q.partial && q.number_last);
        assert_eq!(q.number_text, "1");
        assert!(!Query::parse("Bulevardi ", &cities).partial);
        // A street called like a city stays a street.
        assert_eq!(Query::parse("Helsinki", &cities).words, vec!["helsinki"]);
    }
}
