//! rayon's global pool is built by the first `pool::start`, with the count `pool::set_threads`
//! gave (the first one), not at start-up and not with rayon's default. A test binary of its own:
//! the global pool is per process.

use forecast::pool;

#[test]
fn the_pool_is_built_on_first_use_with_the_first_count_given() {
    pool::start(); // before any count: nothing is built, and a later count still counts
    pool::set_threads(3);
    pool::set_threads(5); // ignored: the first count wins
    pool::start();
    pool::start();
    assert_eq!(rayon::current_num_threads(), 3);
    let sum: u64 =
        rayon::iter::ParallelIterator::sum(rayon::iter::IntoParallelIterator::into_par_iter(0..100u64));
    assert_eq!(sum, 4950);
}
