"""Every YTQA_* setting is read in one place, and the commands and the app take it from there."""

from ytqa import Config
from ytqa._youtube import ProxySettings


def test_every_setting_is_read_from_the_environment():
    config = Config.from_env({
        "YTQA_DATA_DIR": "/srv/ytqa", "YTQA_STORE": "postgresql://u:p@db:5432/ytqa", "YTQA_MODEL": "e5",
        "YTQA_BACKEND": "onnx-int8", "YTQA_MODEL_CACHE": "/cache", "YTQA_PROXY": "http://proxy:3128",
        "YTQA_WEBSHARE_USERNAME": "me", "YTQA_WEBSHARE_PASSWORD": "secret", "YTQA_WEBSHARE_LOCATIONS": "de, us",
    })
    assert (config.data_dir, config.store, config.model, config.backend) == (
        "/srv/ytqa", "postgresql://u:p@db:5432/ytqa", "e5", "onnx-int8")
    assert str(config.model_cache_dir()) == "/cache"
    assert config.proxy.http_url == config.proxy.https_url == "http://proxy:3128"
    assert config.proxy.webshare_locations == ("de", "us") and config.proxy.webshare_password == "secret"


def test_without_settings_the_library_is_the_data_folder():
    config = Config.from_env({})
    assert (config.data_dir, config.store, config.model, config.backend) == ("data", None, None, None)
    assert str(config.model_cache_dir()) == "data/models"
    assert ProxySettings.from_config(config.proxy) is None


def test_a_scheme_specific_proxy_wins_over_the_shared_one():
    config = Config.from_env({"YTQA_PROXY": "http://both:1", "YTQA_HTTPS_PROXY": "http://secure:2"})
    assert (config.proxy.http_url, config.proxy.https_url) == ("http://both:1", "http://secure:2")


def test_the_command_line_takes_its_defaults_from_the_environment(monkeypatch):
    from ytqa.cli import build_parser

    monkeypatch.setenv("YTQA_DATA_DIR", "/lib")
    monkeypatch.setenv("YTQA_STORE", "postgresql://db/ytqa")
    args = build_parser().parse_args(["list"])
    assert (args.data_dir, args.store) == ("/lib", "postgresql://db/ytqa")
