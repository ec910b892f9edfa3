//! Serde for the types whose text form is their identity (names, fingerprints, serials): they
//! serialize as their `Display` text and deserialize with their strict `FromStr`.

/// `Serialize` as the `Display` text, for each type given (feature `serde`).
macro_rules! serialize_as_text {
    ($($type:ty),+ $(,)?) => {$(
        #[cfg(feature = "serde")]
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    )+};
}

/// `Deserialize` from text with `FromStr`, for each type given (feature `serde`).
macro_rules! deserialize_from_text {
    ($($type:ty),+ $(,)?) => {$(
        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    )+};
}
