pub mod db;
pub mod signals;
pub mod wav;
