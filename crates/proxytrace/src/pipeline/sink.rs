//! [`Sink`]: where a command's rows go.

use crate::capture::CaptureError;
use std::convert::Infallible;
use std::ops::ControlFlow;

/// Receives a command's rows, in the command's documented order.
///
/// Every method answers `Ok(Continue)` to go on, `Ok(Break)` to end the run early (`-q`
/// has its answer; the reader of a pipe left) and `Err` to fail it (the output cannot be
/// written). The run ends in both cases; only an `Err` makes it fail.
pub trait Sink<R> {
    /// Why the sink failed; returned by [`run`](super::run) as the run's error.
    type Error;

    /// One row.
    fn row(&mut self, row: R) -> Result<ControlFlow<()>, Self::Error>;

    /// A capture could not be opened or read to its end. The run records it in the
    /// report and goes on with the next input unless this returns `Break`; the default
    /// goes on. A front end prints it here, while the run is still going.
    fn file_error(&mut self, error: &CaptureError) -> Result<ControlFlow<()>, Self::Error> {
        let _ = error;
        Ok(ControlFlow::Continue(()))
    }
}

impl<R, S: Sink<R> + ?Sized> Sink<R> for &mut S {
    type Error = S::Error;
    fn row(&mut self, row: R) -> Result<ControlFlow<()>, S::Error> {
        (**self).row(row)
    }
    fn file_error(&mut self, error: &CaptureError) -> Result<ControlFlow<()>, S::Error> {
        (**self).file_error(error)
    }
}

/// Collecting into a vector never fails and never stops.
impl<R> Sink<R> for Vec<R> {
    type Error = Infallible;
    fn row(&mut self, row: R) -> Result<ControlFlow<()>, Infallible> {
        self.push(row);
        Ok(ControlFlow::Continue(()))
    }
}

/// A sink from a closure (file errors take the default: recorded, the run goes on).
pub fn from_fn<R, E, F>(f: F) -> impl Sink<R, Error = E>
where
    F: FnMut(R) -> Result<ControlFlow<()>, E>,
{
    struct FnSink<F>(F);
    impl<R, E, F: FnMut(R) -> Result<ControlFlow<()>, E>> Sink<R> for FnSink<F> {
        type Error = E;
        fn row(&mut self, row: R) -> Result<ControlFlow<()>, E> {
            (self.0)(row)
        }
    }
    FnSink(f)
}

impl<R, S: Sink<R> + ?Sized> Sink<R> for Box<S> {
    type Error = S::Error;
    fn row(&mut self, row: R) -> Result<ControlFlow<()>, S::Error> {
        (**self).row(row)
    }
    fn file_error(&mut self, error: &CaptureError) -> Result<ControlFlow<()>, S::Error> {
        (**self).file_error(error)
    }
}
