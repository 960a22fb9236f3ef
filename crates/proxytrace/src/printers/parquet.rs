//! Parquet output: rows in row groups of [`ROW_GROUP_ROWS`], written out as each group
//! fills (memory stays bounded by one group), with the types of the row's
//! [`Columns`]: timestamps as TIMESTAMP(ns, UTC), integers of their width, booleans,
//! lists as LIST (of UTF-8 text, or of UINT64), everything else UTF-8.
//!
//! Parquet's writer needs a `Send` output, which the printers' boxed writer is not: the
//! file is built in a buffer that is emptied into the output after every row group, so
//! a pipe sees each group as it is done (Parquet is written front to back; only the
//! footer comes at the end).

use super::project::Projection;
use super::Printer;
use crate::pipeline::Sink;
use crate::vocab::schema::{Column, ColumnType, Columns};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampNanosecondBuilder, UInt16Builder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use serde_json::Value;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::sync::Arc;

/// Rows per row group: the rows held in memory before they are written out (a `join`
/// row of ~100 columns is ~2 KiB, so a group is some tens of MiB at most).
pub const ROW_GROUP_ROWS: usize = 16_384;

/// One column's values being collected.
enum Builder {
    Text(StringBuilder),
    Time(TimestampNanosecondBuilder),
    Bool(BooleanBuilder),
    U8(UInt8Builder),
    U16(UInt16Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    TextList(ListBuilder<StringBuilder>, &'static str),
    UIntList(ListBuilder<UInt64Builder>),
}

const UTC: &str = "UTC";

fn data_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Text | ColumnType::Ip | ColumnType::SocketAddr => DataType::Utf8,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into())),
        ColumnType::Bool => DataType::Boolean,
        ColumnType::UInt8 => DataType::UInt8,
        ColumnType::UInt16 => DataType::UInt16,
        ColumnType::UInt32 => DataType::UInt32,
        ColumnType::UInt64 => DataType::UInt64,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::TextList { .. } => {
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
        }
        ColumnType::UIntList => {
            DataType::List(Arc::new(Field::new_list_field(DataType::UInt64, true)))
        }
    }
}

fn builder(ty: ColumnType) -> Builder {
    match ty {
        ColumnType::Text | ColumnType::Ip | ColumnType::SocketAddr => {
            Builder::Text(StringBuilder::new())
        }
        ColumnType::Timestamp => {
            Builder::Time(TimestampNanosecondBuilder::new().with_timezone(UTC))
        }
        ColumnType::Bool => Builder::Bool(BooleanBuilder::new()),
        ColumnType::UInt8 => Builder::U8(UInt8Builder::new()),
        ColumnType::UInt16 => Builder::U16(UInt16Builder::new()),
        ColumnType::UInt32 => Builder::U32(UInt32Builder::new()),
        ColumnType::UInt64 => Builder::U64(UInt64Builder::new()),
        ColumnType::Int64 => Builder::I64(Int64Builder::new()),
        ColumnType::Float64 => Builder::F64(Float64Builder::new()),
        ColumnType::TextList { sep } => {
            Builder::TextList(ListBuilder::new(StringBuilder::new()), sep)
        }
        ColumnType::UIntList => Builder::UIntList(ListBuilder::new(UInt64Builder::new())),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` as nanoseconds since the epoch.
fn parse_rfc3339_ns(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let b = s.as_bytes();
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if !seps.iter().all(|&(i, c)| b.get(i) == Some(&c)) {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = s.get(19..)?.strip_suffix('Z')?;
    let frac = match rest.strip_prefix('.') {
        None if rest.is_empty() => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<i64>().ok()? * 10i64.pow(9 - f.len() as u32)
        }
        _ => return None,
    };
    // Days from the civil date (H. Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    secs.checked_mul(1_000_000_000)?.checked_add(frac)
}

fn misfit(c: &Column, v: &Value) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("column {}: {v} does not fit {}", c.name, c.ty.name()),
    )
}

impl Builder {
    /// Append one value (null included) of column `c`.
    fn push(&mut self, c: &Column, v: &Value) -> io::Result<()> {
        let bad = || misfit(c, v);
        if v.is_null() {
            if !c.nullable {
                return Err(bad());
            }
            match self {
                Builder::Text(b) => b.append_null(),
                Builder::Time(b) => b.append_null(),
                Builder::Bool(b) => b.append_null(),
                Builder::U8(b) => b.append_null(),
                Builder::U16(b) => b.append_null(),
                Builder::U32(b) => b.append_null(),
                Builder::U64(b) => b.append_null(),
                Builder::I64(b) => b.append_null(),
                Builder::F64(b) => b.append_null(),
                Builder::TextList(b, _) => b.append_null(),
                Builder::UIntList(b) => b.append_null(),
            }
            return Ok(());
        }
        let uint = |max: u64| v.as_u64().filter(|n| *n <= max).ok_or_else(bad);
        match self {
            Builder::Text(b) => b.append_value(v.as_str().ok_or_else(bad)?),
            Builder::Time(b) => {
                b.append_value(v.as_str().and_then(parse_rfc3339_ns).ok_or_else(bad)?)
            }
            Builder::Bool(b) => b.append_value(v.as_bool().ok_or_else(bad)?),
            Builder::U8(b) => b.append_value(uint(u8::MAX.into())? as u8),
            Builder::U16(b) => b.append_value(uint(u16::MAX.into())? as u16),
            Builder::U32(b) => b.append_value(uint(u32::MAX.into())? as u32),
            Builder::U64(b) => b.append_value(uint(u64::MAX)?),
            Builder::I64(b) => b.append_value(v.as_i64().ok_or_else(bad)?),
            Builder::F64(b) => b.append_value(v.as_f64().ok_or_else(bad)?),
            Builder::TextList(b, sep) => {
                let s = v.as_str().ok_or_else(bad)?;
                if !s.is_empty() {
                    for item in s.split(*sep) {
                        b.values().append_value(item);
                    }
                }
                b.append(true);
            }
            Builder::UIntList(b) => {
                let items: Vec<Option<u64>> = v
                    .as_str()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .ok_or_else(bad)?;
                for item in items {
                    b.values().append_option(item);
                }
                b.append(true);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::U8(b) => Arc::new(b.finish()),
            Builder::U16(b) => Arc::new(b.finish()),
            Builder::U32(b) => Arc::new(b.finish()),
            Builder::U64(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::TextList(b, _) => Arc::new(b.finish()),
            Builder::UIntList(b) => Arc::new(b.finish()),
        }
    }
}

fn parquet_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("parquet: {e}"))
}

/// Writes rows of `R` as one Parquet file.
pub struct ParquetPrinter<'w, R> {
    out: Box<dyn Write + 'w>,
    columns: Vec<Column>,
    builders: Vec<Builder>,
    schema: SchemaRef,
    writer: Option<ArrowWriter<Vec<u8>>>,
    rows: usize,
    projection: Option<Arc<Projection>>,
    _rows: PhantomData<fn(R)>,
}

impl<'w, R: Columns> ParquetPrinter<'w, R> {
    /// A printer over `out`, with `R`'s columns as the file's schema.
    pub fn new(out: Box<dyn Write + 'w>) -> io::Result<Self> {
        Self::with_projection(out, None)
    }

    /// A printer over `out` of the `projection`'s columns in its order (every column of
    /// `R` without one), each with its type in `R`'s column list.
    pub fn with_projection(
        out: Box<dyn Write + 'w>,
        projection: Option<Arc<Projection>>,
    ) -> io::Result<Self> {
        let all = R::columns();
        let columns = match &projection {
            None => all,
            Some(p) => p
                .names()
                .iter()
                .map(|n| {
                    all.iter()
                        .find(|c| c.name == n.as_str())
                        .cloned()
                        .ok_or_else(|| parquet_error(format!("no column {n} in the rows")))
                })
                .collect::<io::Result<Vec<Column>>>()?,
        };
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| Field::new(c.name.as_ref(), data_type(c.ty), c.nullable))
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let writer =
            ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props)).map_err(parquet_error)?;
        Ok(ParquetPrinter {
            out,
            builders: columns.iter().map(|c| builder(c.ty)).collect(),
            columns,
            schema,
            writer: Some(writer),
            rows: 0,
            projection,
            _rows: PhantomData,
        })
    }

    /// Write the collected rows as one row group and hand its bytes to the output.
    fn write_group(&mut self) -> io::Result<()> {
        let Some(w) = self.writer.as_mut() else {
            return Err(parquet_error("written after the end"));
        };
        if self.rows > 0 {
            let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
            let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(parquet_error)?;
            w.write(&batch).map_err(parquet_error)?;
            w.flush().map_err(parquet_error)?;
            self.rows = 0;
        }
        let bytes = std::mem::take(w.inner_mut());
        self.out.write_all(&bytes)
    }
}

impl<R: Serialize + Columns> Sink<R> for ParquetPrinter<'_, R> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        let v = match &self.projection {
            Some(p) => serde_json::to_value(p.project(&row)),
            None => serde_json::to_value(&row),
        }
        .map_err(io::Error::other)?;
        let Value::Object(map) = v else {
            return Err(parquet_error("a row is not a struct"));
        };
        if map.len() != self.columns.len() {
            return Err(parquet_error("a row's fields are not its column list"));
        }
        for ((c, b), (name, value)) in self.columns.iter().zip(&mut self.builders).zip(&map) {
            if c.name != name.as_str() {
                return Err(parquet_error(format!("field {name} where {} was", c.name)));
            }
            b.push(c, value)?;
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP_ROWS {
            self.write_group()?;
        }
        Ok(ControlFlow::Continue(()))
    }
}

impl<R: Serialize + Columns> Printer<R> for ParquetPrinter<'_, R> {
    fn finish(&mut self) -> io::Result<()> {
        self.write_group()?;
        if let Some(w) = self.writer.take() {
            let rest = w.into_inner().map_err(parquet_error)?;
            self.out.write_all(&rest)?;
        }
        self.out.flush()
    }

    /// Rows are written a row group at a time: a partial group is not written early (a
    /// row group per flush would make a live stream's file one group per row).
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_to_nanoseconds() {
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ns("2026-01-01T00:00:00.024011000Z"),
            Some(1_767_225_600_024_011_000)
        );
        assert_eq!(
            parse_rfc3339_ns("2000-02-29T23:59:59.5Z"),
            Some(951_868_799_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("1969-12-31T23:59:59Z"),
            Some(-1_000_000_000)
        );
        assert_eq!(parse_rfc3339_ns("2026-01-01 00:00:00Z"), None);
        assert_eq!(parse_rfc3339_ns("2026-01-01T00:00:00+01:00"), None);
    }

    #[derive(Serialize)]
    struct Row {
        t: String,
        n: Option<u16>,
        l: String,
    }

    impl Columns for Row {
        fn columns() -> Vec<Column> {
            vec![
                Column::req("t", ColumnType::Timestamp, "t"),
                Column::opt("n", ColumnType::UInt16, "n"),
                Column::req("l", ColumnType::TextList { sep: "|" }, "l"),
            ]
        }
    }

    #[test]
    fn rows_make_a_file_with_the_columns_types() {
        let mut out = Vec::new();
        {
            let mut p = ParquetPrinter::<Row>::new(Box::new(&mut out)).unwrap();
            for i in 0..(ROW_GROUP_ROWS + 3) {
                let row = Row {
                    t: "2026-01-01T00:00:00Z".into(),
                    n: (i % 2 == 0).then_some(i as u16),
                    l: if i % 3 == 0 {
                        String::new()
                    } else {
                        "a|b".into()
                    },
                };
                assert!(p.row(row).unwrap().is_continue());
            }
            p.finish().unwrap();
        }
        assert_eq!(&out[..4], b"PAR1");
        assert_eq!(&out[out.len() - 4..], b"PAR1");
        let path =
            std::env::temp_dir().join(format!("proxytrace-pq-{}.parquet", std::process::id()));
        std::fs::write(&path, &out).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        use parquet::file::reader::FileReader;
        let meta = reader.metadata();
        assert_eq!(meta.num_row_groups(), 2);
        assert_eq!(meta.file_metadata().num_rows(), (ROW_GROUP_ROWS + 3) as i64);
        let bad = Row {
            t: "yesterday".into(),
            n: None,
            l: String::new(),
        };
        let mut sink = Vec::new();
        let mut p = ParquetPrinter::<Row>::new(Box::new(&mut sink)).unwrap();
        assert!(p.row(bad).is_err());
    }
}
