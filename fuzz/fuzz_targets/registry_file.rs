//! Registry file loading: arbitrary JSON never panics, and a file that loads can be
//! saved and loaded again to the same clients.
#![no_main]
use certauth::registry::MemoryRegistry;
use certauth::registry::file::RegistryFile;
use certauth::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = RegistryFile::from_json(data) else { return };
    let now = Timestamp::from_unix_secs(1_780_000_000);
    let registry = MemoryRegistry::new();
    if registry.load(&file, now).is_ok() {
        let again = MemoryRegistry::new();
        again.load(&registry.to_file(), now).expect("a saved registry loads");
        assert_eq!(again.clients(), registry.clients());
    }
});
