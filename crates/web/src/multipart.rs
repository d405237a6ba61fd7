//! `multipart/form-data` bodies, as browsers send file uploads and Open311 clients send photos.

/// A part of a `multipart/form-data` body.
#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay[i] == needle[0] && &hay[i..i + needle.len()] == needle)
}

/// A header parameter such as `name="x"` in `form-data; name="x"; filename="a.png"`.
fn header_param(value: &str, key: &str) -> Option<String> {
    value.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The parts of a `multipart/form-data` body, or why it cannot be read.
pub fn multipart(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = header_param(content_type, "boundary")
        .filter(|b| !b.is_empty())
        .ok_or("a multipart body names its boundary")?;
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut at = find(body, delimiter, 0).ok_or("the multipart body has no part")? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        at += if body[at..].starts_with(b"\r\n") { 2 } else { return Err("a multipart boundary ends its line".into()) };
        let head_end = find(body, b"\r\n\r\n", at).ok_or("a part has no end of its headers")?;
        let head = std::str::from_utf8(&body[at..head_end]).map_err(|_| "a part's headers are not UTF-8")?;
        let mut name = None;
        let mut filename = None;
        for line in head.split("\r\n") {
            if let Some((k, v)) = line.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-disposition")
            {
                name = header_param(v, "name");
                filename = header_param(v, "filename");
            }
        }
        let data_start = head_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let data_end = find(body, &closing, data_start).ok_or("a part is not closed by the boundary")?;
        let name = name.ok_or("a part has no name")?;
        parts.push(Part { name, filename, data: body[data_start..data_end].to_vec() });
        at = data_end + closing.len();
        if parts.len() > 200 {
            return Err("a multipart body has at most 200 parts".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_split_into_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"service_code\"\r\n\r\nparking\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"media\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--\r\n";
        let parts = multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "service_code");
        assert_eq!(parts[0].data, b"parking");
        assert_eq!(parts[1].filename.as_deref(), Some("a.png"));
        assert_eq!(parts[1].data, b"\x89PNG");
        assert!(multipart("multipart/form-data", body).is_err());
        assert!(multipart("multipart/form-data; boundary=XyZ", b"--XyZ\r\nbroken").is_err());
    }
}
