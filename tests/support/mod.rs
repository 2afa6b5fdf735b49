pub mod db;
pub mod media;
pub mod signals;
pub mod wav;
