//! Locks taken whatever happened to their last holder: every critical section of this crate
//! leaves its data whole (each is one insert, one swap, one append), so a lock poisoned by a
//! panic elsewhere is taken as it is rather than spreading the panic.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// [`Mutex::lock`], recovering a poisoned lock.
pub(crate) trait MutexExt<T: ?Sized> {
    /// The guard, poisoned or not.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> MutexExt<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`RwLock::read`] and [`RwLock::write`], recovering a poisoned lock.
pub(crate) trait RwLockExt<T: ?Sized> {
    /// A read guard, poisoned or not.
    fn reading(&self) -> RwLockReadGuard<'_, T>;
    /// A write guard, poisoned or not.
    fn writing(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockExt<T> for RwLock<T> {
    fn reading(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn writing(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(PoisonError::into_inner)
    }
}
