//! The text the mock "generates".

/// The reply, word by word; longer replies cycle through it.
const WORDS: [&str; 16] = [
    "Hello",
    " from",
    " the",
    " mock",
    " upstream",
    ".",
    " This",
    " reply",
    " is",
    " streamed",
    " one",
    " word",
    " at",
    " a",
    " time",
    ".",
];

/// What a transcription of any audio file says.
pub(crate) const TRANSCRIPT: &str = "Hello from the mock upstream.";

/// The reply split into `count` pieces, one per content delta.
pub(crate) fn pieces(count: usize) -> Vec<&'static str> {
    WORDS.iter().copied().cycle().take(count).collect()
}
