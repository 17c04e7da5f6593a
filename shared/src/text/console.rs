//! The web console's words (filled below).
