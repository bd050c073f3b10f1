//! Row-wise user-defined functions: the bridge between DataFusion and Kusto functions that
//! DataFusion has no exact equivalent for.
//!
//! [`RowUdf`] evaluates a Rust closure over [`Value`]s row by row; its return type is fixed
//! when the planner creates it (the planner knows the argument types). [`CollectUdaf`] is an
//! aggregate that collects its argument rows and finishes them with a closure; its state
//! travels between partial and final aggregation as JSON text.

use crate::value::{self, Value};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Expr, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use serde_json::Value as Json;
use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Every function instance gets its own name: the closures capture arguments (a member
/// key, a capture index), so two calls with equal arguments are not the same expression,
/// and DataFusion compares functions by name.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn unique(name: &str, ret: &DataType) -> String {
    format!("{name}:{ret}#{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

pub type RowFn = Arc<dyn Fn(&[Value]) -> Value + Send + Sync>;

pub struct RowUdf {
    name: String,
    signature: Signature,
    ret: DataType,
    f: RowFn,
}

impl fmt::Debug for RowUdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowUdf({})", self.name)
    }
}

impl ScalarUDFImpl for RowUdf {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(self.ret.clone())
    }
    fn invoke_batch(&self, args: &[ColumnarValue], number_rows: usize) -> DfResult<ColumnarValue> {
        let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let n = if all_scalar { 1 } else { number_rows };
        let arrays: Vec<ArrayRef> = args
            .iter()
            .map(|a| a.clone().into_array(n))
            .collect::<DfResult<_>>()?;
        let mut out = Vec::with_capacity(n);
        let mut row = Vec::with_capacity(arrays.len());
        for i in 0..n {
            row.clear();
            row.extend(arrays.iter().map(|a| value::get(a.as_ref(), i)));
            out.push((self.f)(&row));
        }
        let arr = value::build(&self.ret, out);
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                arr.as_ref(),
                0,
            )?))
        } else {
            Ok(ColumnarValue::Array(arr))
        }
    }
}

/// A call of a row-wise function named `name` returning `ret`.
pub fn call(name: &str, ret: DataType, f: RowFn, args: Vec<Expr>, volatile: bool) -> Expr {
    let udf = RowUdf {
        name: unique(name, &ret),
        signature: Signature::variadic_any(if volatile {
            Volatility::Volatile
        } else {
            Volatility::Immutable
        }),
        ret,
        f,
    };
    ScalarUDF::new_from_impl(udf).call(args)
}

pub type FinishFn = Arc<dyn Fn(Vec<Vec<Value>>) -> Value + Send + Sync>;

pub struct CollectUdaf {
    name: String,
    signature: Signature,
    ret: DataType,
    finish: FinishFn,
}

impl fmt::Debug for CollectUdaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CollectUdaf({})", self.name)
    }
}

impl AggregateUDFImpl for CollectUdaf {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(self.ret.clone())
    }
    fn accumulator(&self, _acc_args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(CollectAcc {
            rows: Vec::new(),
            ret: self.ret.clone(),
            finish: self.finish.clone(),
        }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<Field>> {
        Ok(vec![Field::new(
            format!("{}_rows", args.name),
            DataType::LargeUtf8,
            true,
        )])
    }
}

struct CollectAcc {
    rows: Vec<Vec<Value>>,
    ret: DataType,
    finish: FinishFn,
}

impl fmt::Debug for CollectAcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CollectAcc({} rows)", self.rows.len())
    }
}

/// Values survive the JSON state with their type tagged.
fn tag(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => serde_json::json!({"b": b}),
        Value::Long(i) => serde_json::json!({"l": i}),
        Value::Real(f) => serde_json::json!({"r": value::format_real(*f)}),
        Value::Str(s) => serde_json::json!({"s": s}),
        Value::DateTime(n) => serde_json::json!({"d": n}),
        Value::TimeSpan(n) => serde_json::json!({"t": n}),
        Value::Dyn(j) => serde_json::json!({"j": j}),
    }
}

fn untag(j: &Json) -> Value {
    let Some(obj) = j.as_object() else {
        return Value::Null;
    };
    let Some((k, v)) = obj.iter().next() else {
        return Value::Null;
    };
    match k.as_str() {
        "b" => Value::Bool(v.as_bool().unwrap_or(false)),
        "l" => Value::Long(v.as_i64().unwrap_or(0)),
        "r" => Value::Real(match v.as_str() {
            Some("NaN") => f64::NAN,
            Some("Infinity") => f64::INFINITY,
            Some("-Infinity") => f64::NEG_INFINITY,
            Some(s) => s.parse().unwrap_or(f64::NAN),
            None => f64::NAN,
        }),
        "s" => Value::Str(v.as_str().unwrap_or("").to_string()),
        "d" => Value::DateTime(v.as_i64().unwrap_or(0)),
        "t" => Value::TimeSpan(v.as_i64().unwrap_or(0)),
        "j" => Value::Dyn(v.clone()),
        _ => Value::Null,
    }
}

impl Accumulator for CollectAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let n = values.first().map_or(0, |a| a.len());
        for i in 0..n {
            self.rows
                .push(values.iter().map(|a| value::get(a.as_ref(), i)).collect());
        }
        Ok(())
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let v = (self.finish)(std::mem::take(&mut self.rows));
        let arr = value::build(&self.ret, vec![v]);
        ScalarValue::try_from_array(arr.as_ref(), 0)
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.rows.len() * 64
    }
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let rows: Vec<Json> = self
            .rows
            .iter()
            .map(|r| Json::Array(r.iter().map(tag).collect()))
            .collect();
        Ok(vec![ScalarValue::LargeUtf8(Some(
            Json::Array(rows).to_string(),
        ))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let Some(a) = states.first() else {
            return Ok(());
        };
        let a = a.as_string::<i64>();
        for i in 0..a.len() {
            if a.is_null(i) {
                continue;
            }
            if let Ok(Json::Array(rows)) = serde_json::from_str::<Json>(a.value(i)) {
                for r in rows {
                    if let Json::Array(cells) = r {
                        self.rows.push(cells.iter().map(untag).collect());
                    }
                }
            }
        }
        Ok(())
    }
}

/// An aggregate call collecting `args` per group and finishing with `finish`.
pub fn collect(name: &str, ret: DataType, finish: FinishFn, args: Vec<Expr>) -> Expr {
    let udaf = CollectUdaf {
        name: unique(name, &ret),
        signature: Signature::variadic_any(Volatility::Immutable),
        ret,
        finish,
    };
    AggregateUDF::new_from_impl(udaf).call(args)
}
