//! [`refuse_scalars!`]: the serde `Serializer` methods of every value that is not a
//! struct, each returning an error; for serializers that accept rows only (column
//! projection, composed rows).

/// Inside `impl Serializer`: `refuse_scalars!(ErrorType, error_expression)` writes the
/// scalar, unit and none methods, each returning `Err(error_expression)`.
macro_rules! refuse_scalars {
    ($err:ty, $make:expr) => {
        $crate::vocab::refuse::refuse_scalars!(@each $err, $make;
            serialize_bool(bool);
            serialize_i8(i8);
            serialize_i16(i16);
            serialize_i32(i32);
            serialize_i64(i64);
            serialize_u8(u8);
            serialize_u16(u16);
            serialize_u32(u32);
            serialize_u64(u64);
            serialize_f32(f32);
            serialize_f64(f64);
            serialize_char(char);
            serialize_str(&str);
            serialize_bytes(&[u8]);
            serialize_none();
            serialize_unit();
            serialize_unit_struct(&'static str);
            serialize_unit_variant(&'static str, u32, &'static str);
        );
    };
    (@each $err:ty, $make:expr; $($name:ident($($arg:ty),*);)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), $err> { Err($make) })*
    };
}

pub(crate) use refuse_scalars;
