//! `application/x-www-form-urlencoded` bodies and query strings as a list of fields.
//!
//! OAuth needs rules serde's form decoding does not give: a parameter sent twice is an error
//! (RFC 6749 §3.1), a parameter sent empty counts as absent, and checkbox groups repeat a key.
//! Pages and protocol endpoints both read their input through [`FormFields`].

/// Why a field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("the {0} parameter is missing")]
    Missing(String),
    #[error("the {0} parameter was sent more than once")]
    Repeated(String),
}

/// Decoded `name=value` pairs in the order they arrived.
#[derive(Debug, Default, Clone)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Decodes a form body or query string (`+` is a space, percent-escapes are decoded).
    pub fn parse(bytes: &[u8]) -> FormFields {
        FormFields(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The single value of `name`; `None` when absent or empty, an error when repeated.
    pub fn one(&self, name: &str) -> Result<Option<&str>, FieldError> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next();
        if values.next().is_some() {
            return Err(FieldError::Repeated(name.to_owned()));
        }
        Ok(first.map(String::as_str).filter(|v| !v.is_empty()))
    }

    /// The single, non-empty value of `name`.
    pub fn required(&self, name: &str) -> Result<&str, FieldError> {
        self.one(name)?
            .ok_or_else(|| FieldError::Missing(name.to_owned()))
    }

    /// Every field, in the order it arrived (to carry a form over to a confirmation page).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every non-empty value of a repeated field (checkbox groups).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_repeated_empty_and_missing_fields() {
        let f = FormFields::parse(b"a=1&b=&c=x+y%21&m=gpt&m=o4&d=1&d=2");
        assert_eq!(f.one("a"), Ok(Some("1")));
        assert_eq!(f.one("b"), Ok(None), "empty counts as absent");
        assert_eq!(f.one("c"), Ok(Some("x y!")));
        assert_eq!(f.one("zz"), Ok(None));
        assert_eq!(f.one("d"), Err(FieldError::Repeated("d".into())));
        assert_eq!(f.required("b"), Err(FieldError::Missing("b".into())));
        assert_eq!(f.all("m").collect::<Vec<_>>(), vec!["gpt", "o4"]);
    }
}
