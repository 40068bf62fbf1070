//! Reading `multipart/form-data` uploads into memory.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use bytes::Bytes;

use crate::errors::ApiError;

/// One form field.
pub(crate) struct Field {
    name: String,
    pub(crate) file_name: Option<String>,
    pub(crate) data: Bytes,
}

/// A whole form.
pub(crate) struct Form {
    fields: Vec<Field>,
}

impl Form {
    /// Reads every field, or fails with OpenAI's 400.
    pub(crate) async fn read(
        multipart: Result<Multipart, MultipartRejection>,
    ) -> Result<Form, ApiError> {
        let mut multipart = multipart.map_err(|e| ApiError::bad_multipart(e.body_text()))?;
        let mut fields = Vec::new();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::bad_multipart(e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let data = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_multipart(e.body_text()))?;
            fields.push(Field {
                name,
                file_name,
                data,
            });
        }
        Ok(Form { fields })
    }

    /// A required field.
    pub(crate) fn field(&self, name: &'static str) -> Result<&Field, ApiError> {
        self.fields
            .iter()
            .find(|field| field.name == name)
            .ok_or_else(|| ApiError::missing_param(name))
    }

    /// A required text field.
    pub(crate) fn text(&self, name: &'static str) -> Result<String, ApiError> {
        Ok(String::from_utf8_lossy(&self.field(name)?.data).into_owned())
    }
}
