//! Slicer time strings: `1d 2h 3m 4s`, `25m 10s`, or plain seconds (`6666`, `6666.5`).

/// Seconds in a slicer duration string, `None` if it is neither form.
pub fn parse_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| secs.round() as u64);
    }
    let mut total = 0.0f64;
    let mut number = String::new();
    let mut any = false;
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let unit = match c {
            'd' => 86_400.0,
            'h' => 3_600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        let value: f64 = number.parse().ok()?;
        number.clear();
        total += value * unit;
        any = true;
    }
    (any && number.is_empty()).then(|| total.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms() {
        assert_eq!(parse_seconds("1d 2h 3m 4s"), Some(93_784));
        assert_eq!(parse_seconds(" 25m 10s"), Some(1_510));
        assert_eq!(parse_seconds("45s"), Some(45));
        assert_eq!(parse_seconds("2h3m"), Some(7_380));
        assert_eq!(parse_seconds("6666"), Some(6_666));
        assert_eq!(parse_seconds("6666.4"), Some(6_666));
        assert_eq!(parse_seconds("12 parsecs"), None);
        assert_eq!(parse_seconds("3m 4"), None);
        assert_eq!(parse_seconds(""), None);
        assert_eq!(parse_seconds("-5"), None);
    }
}
