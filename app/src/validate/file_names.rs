//! File names: any name Linux and macOS accept, less what a person cannot see or what makes a
//! name read as something it is not. Server-only: the Unicode property tables come from
//! `icu_properties` (compiled data), which the browser bundle does not carry.
//!
//! The rules, character by character (positions and property names are Unicode's):
//! - refused anywhere: `/`, control characters (Cc, NUL included), line and paragraph
//!   separators, bidi controls (they make "invoice\u{202E}fdp.exe" read "invoiceexe.pdf"),
//!   U+2800 BRAILLE PATTERN BLANK (drawn as empty space without being a space or ignorable;
//!   an ordinary space does its job), and default-ignorable code points and other format
//!   characters (Cf) — soft hyphen, zero-width space, word joiner, the Hangul fillers, ... —
//!   except where they are ordinary text:
//!   - ZWNJ/ZWJ (U+200C, U+200D) where they change how the text is drawn: right after a
//!     virama (Indic conjuncts, "क्‍ष"); ZWNJ between letters that would otherwise join
//!     (Persian "می‌خواهم"), both from IDNA's CONTEXTJ rules (RFC 5892 A.1, A.2); ZWJ between
//!     two emoji ("👨‍👩‍👧", UTS #51). Elsewhere ("file\u{200D}.txt") they only hide.
//!   - a variation selector directly after a character it can vary: VS15/VS16 (U+FE0E,
//!     U+FE0F) after an emoji ("❤️", "1️⃣"), VS17–VS256 after an ideograph ("葛󠄀"), the others
//!     (U+FE00–FE0D, Mongolian's) after any visible character, as no property lists their
//!     bases. "report\u{FE0F}.pdf" is refused: it only hides.
//!   - tag characters in an emoji flag: U+1F3F4 then 3 to 7 tag letters or digits then
//!     CANCEL TAG ("🏴󠁧󠁢󠁳󠁣󠁴󠁿"), the form UTS #51 gives subdivision flags.
//!   - prepended concatenation marks (U+0600 ARABIC NUMBER SIGN, ...): format characters
//!     that draw a sign.
//! - combining marks (Mn, Mc, Me) only after a character to combine with: not at the start or
//!   after a space ("e\u{301}" and "नमस्ते" are fine, a lone "\u{301}" shows as nothing or a
//!   dotted circle).
//! - at least one visible character; trimmed of spaces at both ends; 1 to 255 characters;
//!   not "." or "..". Every other character is kept, `< > : " \ | ? *` and a final dot
//!   included: pages escape names, downloads name the file with RFC 6266's `filename*`, and
//!   object keys never hold the name.

use icu_properties::props::{
    BidiControl, CanonicalCombiningClass, DefaultIgnorableCodePoint, Emoji, EmojiModifier,
    ExtendedPictographic, GeneralCategory, Ideographic, JoinControl, JoiningType,
    PrependedConcatenationMark, VariationSelector,
};
use icu_properties::{CodePointMapData, CodePointSetData};

pub const FILE_NAME_MAX_CHARS: usize = 255;

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';
const WAVING_BLACK_FLAG: char = '\u{1F3F4}';
const CANCEL_TAG: char = '\u{E007F}';

/// Trims a file name and checks it; the message says what to change, naming the character
/// and where it is (counted in characters from 1, in the name as given).
pub fn file_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Give the file a name.".into());
    }
    let chars: Vec<char> = name.chars().collect();
    if chars.len() > FILE_NAME_MAX_CHARS {
        return Err(format!(
            "A file name has at most {FILE_NAME_MAX_CHARS} characters."
        ));
    }
    if name == "." || name == ".." {
        return Err("A file name cannot be \".\" or \"..\".".into());
    }
    if !chars
        .iter()
        .any(|&c| matches!(kind(c), Kind::Visible | Kind::Slash))
    {
        return Err("A file name needs at least one visible character.".into());
    }
    let leading = input.chars().take_while(|c| c.is_whitespace()).count();
    for (i, &c) in chars.iter().enumerate() {
        let this = kind(c);
        let fits = match this {
            Kind::Visible | Kind::Space => true,
            Kind::Joiner => joiner_fits(&chars, i),
            Kind::Selector => selector_fits(&chars, i),
            Kind::Tag => in_flag(&chars, i),
            Kind::Mark => {
                i > 0
                    && matches!(
                        kind(chars[i - 1]),
                        Kind::Visible | Kind::Mark | Kind::Selector | Kind::Joiner
                    )
            }
            _ => false,
        };
        if !fits {
            return Err(refusal(this, c, leading + i + 1));
        }
    }
    Ok(name.to_owned())
}

/// What a character is, as far as file names go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Slash,
    Control,
    LineBreak,
    Direction,
    Blank,
    Invisible,
    /// ZWNJ or ZWJ: allowed where they change the drawing.
    Joiner,
    /// A variation selector: allowed right after a visible character.
    Selector,
    /// U+E0020..U+E007F: allowed in an emoji flag.
    Tag,
    /// Mn, Mc, Me: allowed after a character to combine with.
    Mark,
    Space,
    Visible,
}

fn kind(c: char) -> Kind {
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    let has = |set: icu_properties::CodePointSetDataBorrowed<'static>| set.contains(c);
    match category {
        _ if c == '/' => Kind::Slash,
        GeneralCategory::Control => Kind::Control,
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => Kind::LineBreak,
        _ if c.is_whitespace() => Kind::Space,
        _ if has(CodePointSetData::new::<BidiControl>()) => Kind::Direction,
        _ if has(CodePointSetData::new::<JoinControl>()) => Kind::Joiner,
        _ if has(CodePointSetData::new::<VariationSelector>()) => Kind::Selector,
        _ if ('\u{E0020}'..=CANCEL_TAG).contains(&c) => Kind::Tag,
        _ if has(CodePointSetData::new::<DefaultIgnorableCodePoint>()) => Kind::Invisible,
        GeneralCategory::Format if !has(CodePointSetData::new::<PrependedConcatenationMark>()) => {
            Kind::Invisible
        }
        GeneralCategory::NonspacingMark
        | GeneralCategory::SpacingMark
        | GeneralCategory::EnclosingMark => Kind::Mark,
        _ if c == '\u{2800}' => Kind::Blank,
        _ => Kind::Visible,
    }
}

/// ZWNJ and ZWJ are kept where they change what is drawn: after a virama, ZWNJ between
/// joining letters, ZWJ between emoji.
fn joiner_fits(chars: &[char], i: usize) -> bool {
    let before = &chars[..i];
    let after = &chars[i + 1..];
    let virama = before.last().is_some_and(|&b| {
        CodePointMapData::<CanonicalCombiningClass>::new().get(b) == CanonicalCombiningClass::Virama
    });
    if virama {
        return true;
    }
    if chars[i] == ZWNJ {
        let joining = |c: &char| CodePointMapData::<JoiningType>::new().get(*c);
        let left = before
            .iter()
            .rev()
            .map(joining)
            .find(|&t| t != JoiningType::Transparent);
        let right = after
            .iter()
            .map(joining)
            .find(|&t| t != JoiningType::Transparent);
        return matches!(
            left,
            Some(JoiningType::LeftJoining | JoiningType::DualJoining)
        ) && matches!(
            right,
            Some(JoiningType::RightJoining | JoiningType::DualJoining)
        );
    }
    debug_assert_eq!(chars[i], ZWJ);
    let pictographic = CodePointSetData::new::<ExtendedPictographic>();
    let emoji_before = before
        .iter()
        .rev()
        .find(|&&b| kind(b) != Kind::Selector)
        .is_some_and(|&b| {
            pictographic.contains(b) || CodePointSetData::new::<EmojiModifier>().contains(b)
        });
    emoji_before && after.first().is_some_and(|&a| pictographic.contains(a))
}

/// A variation selector right after a character it can vary (see the module's rules).
fn selector_fits(chars: &[char], i: usize) -> bool {
    let Some(&base) = i.checked_sub(1).and_then(|j| chars.get(j)) else {
        return false;
    };
    kind(base) == Kind::Visible
        && match chars[i] {
            '\u{FE0E}' | '\u{FE0F}' => CodePointSetData::new::<Emoji>().contains(base),
            '\u{E0100}'..='\u{E01EF}' => CodePointSetData::new::<Ideographic>().contains(base),
            _ => true,
        }
}

/// Whether the tag character at `i` is part of a flag: U+1F3F4, 3 to 7 tag letters or digits,
/// CANCEL TAG.
fn in_flag(chars: &[char], i: usize) -> bool {
    let is_tag = |c: &char| kind(*c) == Kind::Tag;
    let start = i - chars[..i].iter().rev().take_while(|c| is_tag(c)).count();
    let end = i + chars[i..].iter().take_while(|c| is_tag(c)).count();
    let spec = &chars[start..end - 1];
    start > 0
        && chars[start - 1] == WAVING_BLACK_FLAG
        && chars[end - 1] == CANCEL_TAG
        && (3..=7).contains(&spec.len())
        && spec
            .iter()
            .all(|c| matches!(c, '\u{E0030}'..='\u{E0039}' | '\u{E0061}'..='\u{E007A}'))
}

fn refusal(kind: Kind, c: char, position: usize) -> String {
    let which = match describe(c) {
        Some(name) => format!("U+{:04X}, {name}, at position {position}", c as u32),
        None => format!("U+{:04X} at position {position}", c as u32),
    };
    match kind {
        Kind::Slash => format!("File names cannot contain \"/\" (position {position})."),
        Kind::Control => format!("File names cannot contain control characters ({which})."),
        Kind::LineBreak => format!("File names cannot contain line breaks ({which})."),
        Kind::Direction => format!(
            "File names cannot contain text-direction controls, which make a name read as \
             something else ({which})."
        ),
        Kind::Blank => format!(
            "File names cannot contain characters drawn as blank space, other than an ordinary \
             space ({which})."
        ),
        Kind::Selector => format!(
            "File names cannot contain a variation selector except right after a character it \
             applies to, such as an emoji ({which})."
        ),
        Kind::Tag => format!(
            "File names cannot contain invisible tag characters, except in a flag emoji \
             ({which})."
        ),
        Kind::Mark => format!(
            "File names cannot contain a combining mark with no character before it to combine \
             with ({which})."
        ),
        Kind::Invisible | Kind::Joiner | Kind::Space | Kind::Visible => {
            format!("File names cannot contain invisible characters ({which}).")
        }
    }
}

/// Everyday words for the characters people meet in names they did not mean to type.
fn describe(c: char) -> Option<&'static str> {
    Some(match c {
        '\0' => "a null character",
        '\t' => "a tab",
        '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{85}' => "a line break",
        '\u{AD}' => "a soft hyphen",
        '\u{34F}' => "a combining grapheme joiner",
        '\u{61C}' => "an Arabic letter mark",
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => "a Hangul filler",
        '\u{180E}' => "a Mongolian vowel separator",
        '\u{200B}' => "a zero-width space",
        '\u{200C}' => "a zero-width non-joiner",
        '\u{200D}' => "a zero-width joiner",
        '\u{200E}' => "a left-to-right mark",
        '\u{200F}' => "a right-to-left mark",
        '\u{2028}' => "a line separator",
        '\u{2029}' => "a paragraph separator",
        '\u{202A}' | '\u{202B}' => "a direction embedding",
        '\u{202C}' | '\u{2069}' => "a direction pop",
        '\u{202D}' => "a left-to-right override",
        '\u{202E}' => "a right-to-left override",
        '\u{2066}'..='\u{2068}' => "a direction isolate",
        '\u{2060}' => "a word joiner",
        '\u{2800}' => "a blank braille pattern",
        '\u{FEFF}' => "a zero-width no-break space (byte order mark)",
        _ => match kind(c) {
            Kind::Selector => "a variation selector",
            Kind::Tag => "a tag character",
            Kind::Mark => "a combining mark",
            _ => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_trimmed_and_kept_otherwise() {
        assert_eq!(
            file_name("  report 2024 (final).pdf ").unwrap(),
            "report 2024 (final).pdf"
        );
        assert_eq!(
            file_name("données-été.tar.gz").unwrap(),
            "données-été.tar.gz"
        );
    }

    #[test]
    fn ordinary_names_are_accepted_as_they_are() {
        for ok in [
            "what?.txt",
            "a:b.txt",
            "Q&A <draft> \"v2\" | final*.pdf",
            "back\\slash.txt",
            "<img src=x onerror=alert(1)>.png",
            "100% done; #1 @home ~ ok!.txt",
            "données-été.tar.gz",
            "e\u{301}t\u{301}e\u{301}.txt",
            "नमस्ते.txt",
            "ไทย.txt",
            "한글.txt",
            // Hangul jamo: the same word as a conjoining sequence.
            "\u{1112}\u{1161}\u{11AB}\u{1100}\u{1173}\u{11AF}.txt",
            "日本語のファイル.txt",
            "Ελληνικά и кириллица.txt",
            "עברית.txt",
            "العربية.txt",
            // ZWNJ between Persian letters that would otherwise join.
            "می\u{200C}خواهم.txt",
            "کتاب\u{200C}ها.pdf",
            // ZWJ and ZWNJ after a virama: Devanagari half forms, Malayalam chillu, Sinhala.
            "क्\u{200D}ष.txt",
            "क्\u{200C}ष.txt",
            "അവന്\u{200D}",
            "ශ්\u{200D}රී.txt",
            "👨\u{200D}👩\u{200D}👧.png",
            "👩🏽\u{200D}💻.png",
            "🏳\u{FE0F}\u{200D}🌈.png",
            "❤\u{FE0F}.png",
            "❤\u{FE0F}\u{200D}🔥.png",
            "1\u{FE0F}\u{20E3} keycap.txt",
            "👍🏽.png",
            "🇫🇷.png",
            "葛\u{E0100}.txt",
            "\u{2269}\u{FE00}.txt",
            "ᠠ\u{180B}ᠯ.txt",
            "☠\u{FE0E}.txt",
            "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}.png",
            "a\u{A0}b\u{3000}c.txt",
            "\u{600}\u{661}\u{662}.txt",
            "report.",
            "...",
            ".hidden",
            "\u{E000} private use.txt",
        ] {
            assert_eq!(
                file_name(ok).as_deref(),
                Ok(ok),
                "{ok:?} should be accepted"
            );
        }
        assert_eq!(file_name(&"a".repeat(255)).unwrap().len(), 255);
    }

    /// Each character inside an otherwise ordinary name, at position 8.
    #[test]
    fn invisible_characters_are_refused_and_named() {
        for (c, words) in [
            ('\u{115F}', "invisible characters (U+115F, a Hangul filler, at position 8)"),
            ('\u{1160}', "invisible characters (U+1160, a Hangul filler, at position 8)"),
            ('\u{3164}', "invisible characters (U+3164, a Hangul filler, at position 8)"),
            ('\u{FFA0}', "invisible characters (U+FFA0, a Hangul filler, at position 8)"),
            ('\u{2800}', "blank space, other than an ordinary space (U+2800, a blank braille"),
            ('\u{200B}', "invisible characters (U+200B, a zero-width space, at position 8)"),
            ('\u{2060}', "invisible characters (U+2060, a word joiner, at position 8)"),
            ('\u{AD}', "invisible characters (U+00AD, a soft hyphen, at position 8)"),
            ('\u{FEFF}', "invisible characters (U+FEFF, a zero-width no-break space"),
            ('\u{34F}', "invisible characters (U+034F, a combining grapheme joiner"),
            ('\u{180E}', "invisible characters (U+180E, a Mongolian vowel separator"),
            ('\u{17B4}', "invisible characters (U+17B4 at position 8)"),
            ('\u{1D173}', "invisible characters (U+1D173 at position 8)"),
            ('\u{FFF9}', "invisible characters (U+FFF9 at position 8)"),
            ('\u{E0001}', "invisible characters (U+E0001 at position 8)"),
            ('\u{2065}', "invisible characters (U+2065 at position 8)"),
            ('\u{202E}', "text-direction controls, which make a name read as something else (U+202E, a right-to-left override, at position 8)"),
            ('\u{202A}', "text-direction controls"),
            ('\u{2066}', "text-direction controls"),
            ('\u{200E}', "something else (U+200E, a left-to-right mark"),
            ('\u{61C}', "something else (U+061C, an Arabic letter mark"),
            ('\u{E0041}', "tag characters, except in a flag emoji (U+E0041, a tag character, at position 8)"),
            ('\u{E007F}', "tag characters"),
            ('\u{2028}', "line breaks (U+2028, a line separator, at position 8)"),
            ('\u{2029}', "line breaks (U+2029, a paragraph separator, at position 8)"),
            ('\u{85}', "control characters (U+0085, a line break, at position 8)"),
            ('\t', "control characters (U+0009, a tab, at position 8)"),
            ('\0', "control characters (U+0000, a null character, at position 8)"),
            ('\u{7F}', "control characters (U+007F at position 8)"),
            ('/', "contain \"/\" (position 8)"),
        ] {
            let name = format!("invoice{c}.pdf");
            let error = file_name(&name).unwrap_err();
            assert!(
                error.starts_with("File names cannot contain ") && error.contains(words),
                "{name:?}: {error}"
            );
        }
    }

    /// Issue 23's examples: what Linux and macOS take is taken; "/", NUL and invisible
    /// characters are refused in words that say which and where.
    #[test]
    fn issue_23_names() {
        for ok in ["what?.txt", "a:b.txt", "résumé \"final\" <2>.pdf", "* | ?"] {
            assert_eq!(file_name(ok).as_deref(), Ok(ok), "{ok:?}");
        }
        for (bad, words) in [
            ("a/b", "File names cannot contain \"/\" (position 2)."),
            ("a\u{0}b", "control characters (U+0000, a null character, at position 2)"),
            ("a\u{200B}b", "invisible characters (U+200B, a zero-width space, at position 2)"),
            ("\u{202E}txt.exe", "text-direction controls, which make a name read as something else (U+202E, a right-to-left override, at position 1)"),
        ] {
            let error = file_name(bad).unwrap_err();
            assert!(error.contains(words), "{bad:?}: {error}");
        }
    }

    #[test]
    fn positions_count_characters_in_the_name_as_given() {
        assert!(file_name("  été\u{3164}.pdf")
            .unwrap_err()
            .contains("U+3164, a Hangul filler, at position 6"));
    }

    #[test]
    fn joiners_and_selectors_are_refused_where_they_only_hide() {
        for (bad, words) in [
            // ZWJ and ZWNJ between letters they do not change.
            ("file\u{200D}.txt", "invisible characters (U+200D, a zero-width joiner, at position 5)"),
            ("a\u{200C}b.txt", "invisible characters (U+200C, a zero-width non-joiner"),
            ("\u{200D}👩.png", "invisible characters (U+200D"),
            ("👩\u{200D}.png", "invisible characters (U+200D"),
            ("👩\u{200D}", "invisible characters (U+200D"),
            ("👨\u{200D}\u{200D}👩.png", "(U+200D, a zero-width joiner, at position 2)"),
            // ZWNJ after a right-joining letter, where nothing joins anyway.
            ("و\u{200C}ب.txt", "invisible characters (U+200C"),
            // A variation selector alone, after a space, after a mark or after another.
            ("\u{FE0F}.txt", "a variation selector except right after a character it applies to, such as an emoji (U+FE0F, a variation selector, at position 1)"),
            ("a \u{FE0F}.txt", "(U+FE0F, a variation selector, at position 3)"),
            ("e\u{301}\u{FE0F}.txt", "a variation selector except"),
            ("❤\u{FE0F}\u{FE0F}.txt", "(U+FE0F, a variation selector, at position 3)"),
            ("\u{E0100}.txt", "a variation selector except"),
            // VS16 after a letter, VS17 after a digit: nothing to vary, they only hide.
            ("report\u{FE0F}.pdf", "(U+FE0F, a variation selector, at position 7)"),
            ("ab\u{FE0E}", "(U+FE0E, a variation selector, at position 3)"),
            ("葛\u{FE0F}.txt", "a variation selector except"),
            ("1\u{E0100}.txt", "a variation selector except"),
            // Tags outside a well-formed flag.
            ("🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}.png", "tag characters"),
            ("🏴\u{E0067}\u{E007F}.png", "tag characters"),
            ("🏴\u{E0047}\u{E0042}\u{E0053}\u{E007F}.png", "tag characters"),
            ("🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E0061}\u{E0062}\u{E0063}\u{E007F}.png", "tag characters"),
            ("x\u{E0067}\u{E0062}\u{E0073}\u{E007F}.png", "except in a flag emoji (U+E0067, a tag character, at position 2)"),
        ] {
            let error = file_name(bad).unwrap_err();
            assert!(error.contains(words), "{bad:?}: {error}");
        }
    }

    #[test]
    fn combining_marks_must_follow_a_character() {
        for (bad, position) in [
            ("\u{301}e.txt", 1),
            ("a \u{301}.txt", 3),
            ("\u{20E3}.txt", 1),
            ("\u{94D}क.txt", 1),
            ("x \u{E31}.txt", 3),
        ] {
            let error = file_name(bad).unwrap_err();
            assert!(
                error.contains("a combining mark with no character before it")
                    && error.contains(&format!("a combining mark, at position {position})")),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn names_with_nothing_visible_are_refused() {
        for bad in [
            "\u{3164}",
            "\u{115F}\u{1160}",
            "\u{FFA0}\u{FFA0}",
            "\u{2800}",
            "\u{2800} \u{2800}",
            "\u{200B}\u{200D}\u{2060}",
            "\u{301}",
            "\u{FE0F}",
            "\u{E0041}\u{E007F}",
            "\u{202E}",
            " \u{AD} ",
            "\0",
        ] {
            assert_eq!(
                file_name(bad).unwrap_err(),
                "A file name needs at least one visible character.",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_dot_and_overlong_names_are_refused() {
        assert_eq!(file_name("").unwrap_err(), "Give the file a name.");
        assert_eq!(
            file_name(" \u{A0}\u{3000} ").unwrap_err(),
            "Give the file a name."
        );
        for dots in [".", "..", " .. "] {
            assert_eq!(
                file_name(dots).unwrap_err(),
                "A file name cannot be \".\" or \"..\".",
                "{dots:?}"
            );
        }
        assert!(file_name("../../etc/passwd")
            .unwrap_err()
            .contains("\"/\" (position 3)"));
        assert!(file_name(&"a".repeat(256))
            .unwrap_err()
            .contains("at most 255 characters"));
        // Counted in characters, not bytes.
        assert!(file_name(&"é".repeat(255)).is_ok());
    }
}
