//! The storage calls as the API exposes them: image stores, layers and volumes, with the VCH's
//! storage quota applied before anything is written (VIC refuses once usage exceeds it).

use super::PortLayer;
use super::error::{PortLayerError, Result};
use super::images::{ImageInfo, LayerWrite};
use super::volumes::{VolumeInfo, VolumeRequest};
use crate::vsphere::World;

impl PortLayer {
    /// `POST /storage`: creates an image store; 409 if it exists.
    pub fn create_image_store(&mut self, w: &mut World, name: &str) -> Result<String> {
        let url = self.images.create_store(w, name)?;
        self.seen(w);
        Ok(url)
    }

    fn check_storage_quota(&self) -> Result<()> {
        if let Some(gb) = self.vch.config.storage_quota_gb {
            let used_mib = self.storage_used_mib();
            if used_mib >= gb * 1024 {
                return Err(PortLayerError::LimitExceeded(format!(
                    "storage quota of {gb} GB exhausted: {used_mib} MB in use"
                )));
            }
        }
        Ok(())
    }

    /// `POST /storage/{store}` (WriteImage): one layer, checked against its `sum`.
    pub fn write_image(&mut self, w: &mut World, req: &LayerWrite<'_>) -> Result<ImageInfo> {
        self.write_layer(w, req)?;
        self.images.get(req.store, req.image_id)
    }

    /// WriteImage without its answer, for the persona's pulls.
    pub fn write_layer(&mut self, w: &mut World, req: &LayerWrite<'_>) -> Result<()> {
        self.check_storage_quota()?;
        self.images.write_layer(w, req)?;
        self.seen(w);
        Ok(())
    }

    /// `DELETE /storage/{store}/info/{id}`.
    pub fn delete_image(
        &mut self,
        w: &mut World,
        store: &str,
        id: &str,
        keep_nodes: &[String],
    ) -> Result<Vec<ImageInfo>> {
        let deleted = self.images.delete(w, store, id, keep_nodes)?;
        self.seen(w);
        Ok(deleted)
    }

    /// `POST /storage/volumes`.
    pub fn create_volume(&mut self, w: &mut World, req: VolumeRequest) -> Result<VolumeInfo> {
        let v = self.volumes.create(w, req)?;
        self.seen(w);
        Ok(v)
    }

    /// `DELETE /storage/volumes/{name}`: 409 while a container has it joined.
    pub fn delete_volume(&mut self, w: &mut World, name: &str) -> Result<()> {
        self.volumes.delete(w, name)?;
        self.seen(w);
        Ok(())
    }
}

impl PortLayer {
    /// `POST /scopes`.
    pub fn create_scope(
        &mut self,
        cfg: super::scopes::ScopeConfig,
    ) -> Result<super::scopes::ScopeInfo> {
        self.scopes.create(cfg)
    }

    /// `DELETE /scopes/{idName}`.
    pub fn delete_scope(&mut self, id_or_name: &str) -> Result<()> {
        self.scopes.delete(id_or_name)
    }
}
