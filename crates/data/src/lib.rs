//! Data in and out of Wangge: spreadsheet files read into the store's import sheets, and the
//! store's exports written as CSV (UTF-8 with a BOM, so that spreadsheet programs read Chinese)
//! or XLSX (written in constant memory: rows go to temporary files, not to the heap).
//!
//! CSV files are read as UTF-8 (with or without a BOM) or, when they are not valid UTF-8, as
//! GB18030, the encoding Chinese spreadsheet programs save CSV in.

pub mod boundary;

use std::io::{Cursor, Write};

use calamine::{Data, Reader, Xlsx};
use wangge_core::Caller;
use wangge_store::{ExportFilter, ImportReport, ImportSheet, RowSource, Rows, SheetKind, SheetRows, Store, StoreError};

/// Why a file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file is not a spreadsheet we can read, or names no kind of sheet; `sheet` names it.
    #[error("{sheet}: {message}")]
    Unreadable { sheet: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the spreadsheet: {0}")]
    Write(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The formats of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

fn unreadable(sheet: &str, message: impl Into<String>) -> DataError {
    DataError::Unreadable { sheet: sheet.to_string(), message: message.into() }
}

/// Reads a file's sheets. `name` is the file's name (its stem may name the kind, as
/// `residents.csv` does); `kind` forces the kind of a CSV file or of a one-sheet workbook.
pub fn read_sheets(bytes: &[u8], name: &str, kind: Option<SheetKind>) -> Result<Vec<ImportSheet>, DataError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes, name, kind)
    } else {
        let stem = std::path::Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name);
        Ok(vec![read_csv(bytes, stem, kind)?])
    }
}

/// The text of a CSV file: UTF-8 (a BOM dropped), or else GB18030.
pub fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(s) => s.into(),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(body).0,
    }
}

fn sheet_kind(name: &str, header: &[String], forced: Option<SheetKind>) -> Result<SheetKind, DataError> {
    if let Some(k) = forced.or_else(|| SheetKind::parse(name)).or_else(|| SheetKind::guess(header)) {
        return Ok(k);
    }
    Err(unreadable(
        name,
        "cannot tell which kind of records this sheet holds: name it areas, houses, households, residents or posts \
         (区划, 房屋, 户, 居民, 岗位), or give its kind",
    ))
}

fn read_csv(bytes: &[u8], name: &str, kind: Option<SheetKind>) -> Result<ImportSheet, DataError> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut line: u32 = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(unreadable(name, format!("row {}: not valid CSV: {e}", line + 1))),
        }
        line += 1;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        match header {
            None => header = Some(cells),
            Some(_) => rows.push((line, cells)),
        }
    }
    let header = header.ok_or_else(|| unreadable(name, "the file is empty"))?;
    Ok(ImportSheet {
        kind: sheet_kind(name, &header, kind)?,
        name: name.to_string(),
        header,
        rows: SheetRows::Memory(rows),
    })
}

/// Reads a file's sheets from its path. A CSV file in UTF-8 keeps its rows in the file, read
/// when the import needs them (to check them, then to write them), so that a file of a million
/// residents never sits in memory; XLSX and GB18030 files are read whole, as [`read_sheets`] does.
pub fn read_file(path: &std::path::Path, kind: Option<SheetKind>) -> Result<Vec<ImportSheet>, DataError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("import");
    let mut magic = Vec::with_capacity(4);
    std::io::Read::read_to_end(&mut std::io::Read::take(std::fs::File::open(path)?, 4), &mut magic)?;
    if magic == b"PK\x03\x04" {
        return read_sheets(&std::fs::read(path)?, name, kind);
    }
    let stem = std::path::Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name);
    let file = CsvFile { path: path.to_path_buf() };
    // A first read checks that the file is UTF-8 and CSV, and counts its rows.
    let (header, count) = match file.scan()? {
        Ok(scan) => scan,
        Err(CsvProblem::NotUtf8) => return read_sheets(&std::fs::read(path)?, name, kind),
        Err(CsvProblem::Csv(message)) => return Err(unreadable(stem, message)),
    };
    let header = header.ok_or_else(|| unreadable(stem, "the file is empty"))?;
    Ok(vec![ImportSheet {
        kind: sheet_kind(stem, &header, kind)?,
        name: stem.to_string(),
        header,
        rows: SheetRows::File { source: std::sync::Arc::new(file), count },
    }])
}

/// A CSV file in UTF-8 whose rows are read from it each time they are needed.
struct CsvFile {
    path: std::path::PathBuf,
}

enum CsvProblem {
    NotUtf8,
    Csv(String),
}

type CsvReader = csv::Reader<std::io::BufReader<std::fs::File>>;

/// A CSV file's header, if any, and how many rows follow it.
type Scan = (Option<Vec<String>>, usize);

impl CsvFile {
    fn reader(&self) -> std::io::Result<CsvReader> {
        use std::io::BufRead;
        let mut r = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(&self.path)?);
        if r.fill_buf()?.starts_with(b"\xef\xbb\xbf") {
            r.consume(3);
        }
        Ok(csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(r))
    }

    /// The header and the number of rows after it, numbered and skipped as [`read_csv`] does.
    fn scan(&self) -> std::io::Result<Result<Scan, CsvProblem>> {
        let mut reader = self.reader()?;
        let mut record = csv::ByteRecord::new();
        let (mut header, mut count, mut line) = (None, 0, 0u32);
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Ok(Err(CsvProblem::Csv(format!("row {}: not valid CSV: {e}", line + 1)))),
            }
            line += 1;
            let mut blank = true;
            for c in record.iter() {
                match std::str::from_utf8(c) {
                    Ok(s) => blank &= s.trim().is_empty(),
                    Err(_) => return Ok(Err(CsvProblem::NotUtf8)),
                }
            }
            if blank {
                continue;
            }
            match header {
                None => header = Some(record.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect()),
                Some(_) => count += 1,
            }
        }
        Ok(Ok((header, count)))
    }
}

/// The rows of a [`CsvFile`] with their row numbers, the header included.
struct CsvRows {
    reader: CsvReader,
    record: csv::StringRecord,
    line: u32,
}

impl Iterator for CsvRows {
    type Item = std::io::Result<(u32, Vec<String>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => return Some(Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
            }
            self.line += 1;
            if self.record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            return Some(Ok((self.line, self.record.iter().map(str::to_string).collect())));
        }
    }
}

impl RowSource for CsvFile {
    fn rows(&self) -> std::io::Result<Rows> {
        let rows = CsvRows { reader: self.reader()?, record: csv::StringRecord::new(), line: 0 };
        // The first row is the header.
        Ok(Box::new(rows.skip(1)))
    }
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        // Excel counts days from 1899-12-30.
        Data::DateTime(d) => chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
            .and_then(|base| base.checked_add_signed(chrono::Duration::days(d.as_f64().floor() as i64)))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    }
}

fn read_xlsx(bytes: &[u8], name: &str, kind: Option<SheetKind>) -> Result<Vec<ImportSheet>, DataError> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| unreadable(name, format!("not a readable XLSX workbook: {e}")))?;
    let names = book.sheet_names();
    let mut out = Vec::new();
    for sheet in &names {
        let range =
            book.worksheet_range(sheet).map_err(|e| unreadable(sheet, format!("cannot read the sheet: {e}")))?;
        let first_row = range.start().map_or(0, |(r, _)| r);
        let first_col = range.start().map_or(0, |(_, c)| c) as usize;
        let mut header: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for (i, r) in range.rows().enumerate() {
            let mut cells: Vec<String> = vec![String::new(); first_col];
            cells.extend(r.iter().map(cell_text));
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let line = first_row + i as u32 + 1;
            match header {
                None => header = Some(cells),
                Some(_) => rows.push((line, cells)),
            }
        }
        let Some(header) = header else { continue };
        let forced = if names.len() == 1 { kind } else { None };
        let kind = sheet_kind(sheet, &header, forced)?;
        out.push(ImportSheet { kind, name: sheet.clone(), header, rows: SheetRows::Memory(rows) });
    }
    if out.is_empty() {
        return Err(unreadable(name, "the workbook has no sheet with rows"));
    }
    Ok(out)
}

/// Writes rows of one or more sheets.
pub enum SheetWriter<W: Write + Send> {
    Csv(Box<csv::Writer<W>>),
    Xlsx { book: Box<rust_xlsxwriter::Workbook>, out: W, row: u32, sheets: usize },
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> DataError {
    DataError::Write(e.to_string())
}

impl<W: Write + Send> SheetWriter<W> {
    pub fn new(format: Format, mut out: W) -> Result<SheetWriter<W>, DataError> {
        Ok(match format {
            Format::Csv => {
                out.write_all(b"\xef\xbb\xbf")?;
                SheetWriter::Csv(Box::new(csv::Writer::from_writer(out)))
            }
            Format::Xlsx => {
                SheetWriter::Xlsx { book: Box::new(rust_xlsxwriter::Workbook::new()), out, row: 0, sheets: 0 }
            }
        })
    }

    /// Starts a sheet (a workbook's next worksheet; a CSV file has one) with its header.
    pub fn start_sheet(&mut self, name: &str, header: &[String]) -> Result<(), DataError> {
        if let SheetWriter::Xlsx { book, row, sheets, .. } = self {
            let ws = book.add_worksheet_with_constant_memory().map_err(xlsx_err)?;
            ws.set_name(name).map_err(xlsx_err)?;
            *row = 0;
            *sheets += 1;
        }
        self.row(header)
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), DataError> {
        match self {
            SheetWriter::Csv(w) => {
                w.write_record(cells.iter().map(|c| c.as_ref())).map_err(|e| DataError::Write(e.to_string()))
            }
            SheetWriter::Xlsx { book, row, sheets, .. } => {
                let ws = book.worksheet_from_index(*sheets - 1).map_err(xlsx_err)?;
                for (i, c) in cells.iter().enumerate() {
                    let c = c.as_ref();
                    if !c.is_empty() {
                        ws.write_string(*row, i as u16, c).map_err(xlsx_err)?;
                    }
                }
                *row += 1;
                Ok(())
            }
        }
    }

    /// Finishes the file.
    pub fn finish(self) -> Result<(), DataError> {
        match self {
            SheetWriter::Csv(mut w) => w.flush().map_err(DataError::from),
            SheetWriter::Xlsx { mut book, out, .. } => book.save_to_writer(out).map_err(xlsx_err),
        }
    }
}

/// What to export.
#[derive(Debug, Clone, Copy)]
pub struct ExportSpec<'a> {
    pub kinds: &'a [SheetKind],
    /// Only this area's subtree.
    pub within: Option<i64>,
    /// Reveal ID numbers and phones, for this purpose.
    pub purpose: Option<&'a str>,
    /// The filters of a list page; none by default.
    pub filter: Option<&'a ExportFilter>,
    pub format: Format,
}

/// Writes an export to `out`. A CSV file holds one kind only.
pub async fn export<W: Write + Send>(
    store: &Store,
    caller: &Caller,
    spec: &ExportSpec<'_>,
    out: W,
    progress: &mut (dyn FnMut(&str, usize) + Send),
) -> Result<usize, DataError> {
    if spec.format == Format::Csv && spec.kinds.len() != 1 {
        return Err(unreadable("export", "a CSV file holds one kind of records: name one"));
    }
    let mut exporters = Vec::new();
    for k in spec.kinds {
        let f = spec.filter.cloned().unwrap_or_default();
        exporters.push(store.export_filtered(caller, *k, spec.within, &f, spec.purpose).await?);
    }
    let mut w = SheetWriter::new(spec.format, out)?;
    let mut total = 0;
    for mut e in exporters {
        let kind = e.kind();
        w.start_sheet(kind.as_str(), &kind.header())?;
        while let Some(rows) = e.next_batch(store).await? {
            for r in &rows {
                w.row(r)?;
            }
            progress(kind.as_str(), e.rows);
        }
        total += e.rows;
    }
    w.finish()?;
    Ok(total)
}

/// The empty template of a kind (a CSV file), or of every imported kind (a workbook).
pub fn template<W: Write + Send>(kind: Option<SheetKind>, format: Format, out: W) -> Result<(), DataError> {
    let kinds: Vec<SheetKind> = match kind {
        Some(k) => vec![k],
        None if format == Format::Xlsx => SheetKind::IMPORTED.to_vec(),
        None => return Err(unreadable("template", "a CSV template holds one kind of records: name one")),
    };
    let mut w = SheetWriter::new(format, out)?;
    for k in kinds {
        w.start_sheet(k.as_str(), &k.header())?;
    }
    w.finish()
}

/// The row errors of an import report as a spreadsheet, to fix the file by.
pub fn report<W: Write + Send>(report: &ImportReport, format: Format, out: W) -> Result<(), DataError> {
    let mut w = SheetWriter::new(format, out)?;
    let header: Vec<String> =
        ["工作表 sheet", "行 row", "列 field", "错误 code", "说明 message"].iter().map(|s| s.to_string()).collect();
    w.start_sheet("errors", &header)?;
    for e in &report.errors {
        w.row(&[e.sheet.clone(), e.row.to_string(), e.field.clone(), e.code.clone(), e.message.clone()])?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_gb18030_and_utf8_with_bom_read_alike() {
        let text = "姓名,户编码,身份证号\n张三,350322100001001001000101,\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(text.as_bytes());
        for bytes in [gb.to_vec(), bom, text.as_bytes().to_vec()] {
            let sheets = read_sheets(&bytes, "居民.csv", None).unwrap();
            assert_eq!(sheets[0].kind, SheetKind::Residents);
            assert_eq!(sheets[0].header[0], "姓名");
            assert_eq!(
                sheets[0].rows.clone().into_memory().unwrap(),
                vec![(2, vec!["张三".into(), "350322100001001001000101".into(), String::new()])]
            );
        }
    }

    #[test]
    fn csv_files_read_from_their_path_as_from_memory() {
        let text =
            "\n姓名,户编码,身份证号\n张三,350322100001001001000101,\n , ,\n\"李\n四\",350322100001001001000102,\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let dir = tempfile::tempdir().unwrap();
        for (bytes, streamed) in [(gb.to_vec(), false), (bom, true), (text.as_bytes().to_vec(), true)] {
            let path = dir.path().join("居民.csv");
            std::fs::write(&path, &bytes).unwrap();
            let from_file = read_file(&path, None).unwrap();
            let from_memory = read_sheets(&bytes, "居民.csv", None).unwrap();
            assert_eq!(matches!(from_file[0].rows, SheetRows::File { .. }), streamed);
            assert_eq!((&from_file[0].name, &from_file[0].header), (&from_memory[0].name, &from_memory[0].header));
            assert_eq!(from_file[0].rows.len(), 2);
            let rows = from_file[0].rows.clone().into_memory().unwrap();
            assert_eq!(rows, from_memory[0].rows.clone().into_memory().unwrap());
            assert_eq!(rows[1].1, vec!["李\n四".to_string(), "350322100001001001000102".into(), String::new()]);
            // Read again, the same rows.
            assert_eq!(from_file[0].rows.clone().into_memory().unwrap(), rows);
        }
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        assert!(matches!(read_file(&path, None), Err(DataError::Unreadable { .. })));
    }

    #[test]
    fn xlsx_written_reads_back() {
        let mut buf = Vec::new();
        let mut w = SheetWriter::new(Format::Xlsx, &mut buf).unwrap();
        w.start_sheet("houses", &SheetKind::Houses.header()).unwrap();
        w.row(&["3503221000010010010001", "鲤南镇圣泉社区1号", ""]).unwrap();
        w.start_sheet("residents", &SheetKind::Residents.header()).unwrap();
        w.row(&["35032219900101001X", "张三"]).unwrap();
        w.finish().unwrap();
        let sheets = read_sheets(&buf, "x.xlsx", None).unwrap();
        assert_eq!(sheets.len(), 2);
        assert_eq!(sheets[0].kind, SheetKind::Houses);
        let houses = sheets[0].rows.clone().into_memory().unwrap();
        assert_eq!(houses[0].0, 2);
        assert_eq!(houses[0].1[1], "鲤南镇圣泉社区1号");
        assert_eq!(sheets[1].kind, SheetKind::Residents);
        assert_eq!(sheets[1].rows.clone().into_memory().unwrap()[0].1[0], "35032219900101001X");
    }

    #[test]
    fn unreadable_files_say_so() {
        assert!(matches!(read_sheets(b"", "x.csv", None), Err(DataError::Unreadable { .. })));
        assert!(matches!(read_sheets(b"a,b\n1,2\n", "x.csv", None), Err(DataError::Unreadable { .. })));
        assert!(matches!(read_sheets(b"PK\x03\x04garbage", "x.xlsx", None), Err(DataError::Unreadable { .. })));
    }
}
