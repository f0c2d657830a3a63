"""Model names: the 2022 study's names, mapped to torchvision and keras.applications builders.

A name is matched case-insensitively, ignoring every character but letters and digits, so ``ResNet50``,
``resnet50`` and ``mobilenet_v3_small`` all resolve. Beyond this table each backend accepts its
framework's own classification models (see ``Backend.framework_models``).
"""
from __future__ import annotations

from dataclasses import dataclass

from mlel.base.names import normalise_model_name


@dataclass(frozen=True)
class ModelSpec:
    """How one model is built in each framework, and its standard input."""
    name: str                  # canonical name, written to config.json (the 2022 name where one exists)
    torch: str | None = None   # torchvision.models builder
    keras: str | None = None   # keras.applications attribute
    input_size: int = 224      # native (crop) size
    resize_size: int = 256     # shorter side before the centre crop (ImageNet evaluation)
    keras_preprocess: str | None = None  # keras.applications.<module>.preprocess_input; None: inside the model
    min_input_size: int = 32


def _spec(name, torch=None, keras=None, size=224, resize=None, pre=None, min_size=32):
    return ModelSpec(name, torch, keras, size, resize or round(size / 0.875), pre, min_size)


# The 2022 models, plus a few small ones useful on laptops and in tests.
_TABLE = [
    _spec("ResNet18", "resnet18"),
    _spec("ResNet34", "resnet34"),
    _spec("ResNet50", "resnet50", "ResNet50", pre="resnet"),
    _spec("ResNet101", "resnet101", "ResNet101", pre="resnet"),
    _spec("ResNet152", "resnet152", "ResNet152", pre="resnet"),
    _spec("ResNext50", "resnext50_32x4d"),
    _spec("ResNext101", "resnext101_32x8d"),
    _spec("VGG16", "vgg16", "VGG16", pre="vgg16"),
    _spec("VGG19", "vgg19", "VGG19", pre="vgg19"),
    _spec("DenseNet121", "densenet121", "DenseNet121", pre="densenet"),
    _spec("DenseNet169", "densenet169", "DenseNet169", pre="densenet"),
    _spec("DenseNet201", "densenet201", "DenseNet201", pre="densenet"),
    _spec("MobileNetV2", "mobilenet_v2", "MobileNetV2", pre="mobilenet_v2"),
    _spec("MobileNetV3Small", "mobilenet_v3_small", "MobileNetV3Small"),
    _spec("MobileNetV3Large", "mobilenet_v3_large", "MobileNetV3Large"),
    _spec("RegNetX400MF", "regnet_x_400mf"),
    _spec("RegNetX8GF", "regnet_x_8gf"),
    _spec("RegNetX32GF", "regnet_x_32gf"),
    _spec("InceptionV3", "inception_v3", "InceptionV3", 299, 342, "inception_v3", 75),
    _spec("InceptionResNetV2", None, "InceptionResNetV2", 299, 342, "inception_resnet_v2", 75),
    _spec("Xception", None, "Xception", 299, 342, "xception", 71),
    _spec("NASNetMobile", None, "NASNetMobile", 224, 256, "nasnet"),
    # EfficientNets: keras sizes (torchvision's weights use slightly different ones for B2..B4)
    *[_spec(f"EfficientNetB{i}", f"efficientnet_b{i}", f"EfficientNetB{i}", size)
      for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600))],
]
MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in _TABLE}

# Other spellings of table models (torchvision and keras's own names).
_ALIASES = {
    "resnext5032x4d": "ResNext50", "resnext10132x8d": "ResNext101",
    "regnetx004": "RegNetX400MF", "regnetx080": "RegNetX8GF", "regnetx320": "RegNetX32GF",
}

# The 2022 study also measured larq's QuickNets (binarised networks): not offered here.
NOT_OFFERED = {"quicknet": "QuickNet", "quicknetsmall": "QuickNetSmall", "quicknetlarge": "QuickNetLarge"}




_BY_KEY = {normalise_model_name(spec.name): spec for spec in _TABLE}
_BY_KEY.update({normalise_model_name(spec.torch): spec for spec in _TABLE if spec.torch})
_BY_KEY.update({normalise_model_name(spec.keras): spec for spec in _TABLE if spec.keras})
_BY_KEY.update({key: MODELS[name] for key, name in _ALIASES.items()})


def lookup(name: str) -> ModelSpec | None:
    """The table entry for a model name, or None."""
    return _BY_KEY.get(normalise_model_name(name))
